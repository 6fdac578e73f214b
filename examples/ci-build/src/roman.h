/* SPDX-License-Identifier: MIT */
#pragma once

/* Writes n (1..3999) in Roman numerals into buf (at least 16 bytes); returns 0, or -1 when n
 * is out of range. */
int roman_format(int n, char *buf, unsigned long size);

/* Parses a canonical Roman numeral; returns its value, or -1 when s is not one. */
int roman_parse(const char *s);
