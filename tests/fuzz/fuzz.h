/* SPDX-License-Identifier: MIT */
#pragma once

#include <stddef.h>
#include <stdint.h>

/* The libFuzzer entry point each fuzz target defines; fuzz-replay.c calls it too. */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
