/*
 * money.h - exact money arithmetic in integer minor units (pure: libc only).
 *
 * Every amount cohortd stores is an int64 count of the currency's minor unit
 * (cents for USD, yen for JPY, fils for KWD): the ISO 4217 exponent says how
 * many decimal digits the minor unit has. Decimal strings from payloads
 * ("19.99", "1000", "1.5e2") are converted digit by digit, never through a
 * double, so "0.1" + "0.2" is exactly 30 cents. Every conversion checks for
 * int64 overflow and refuses to silently drop precision ("19.999" USD is an
 * error, "19.990" is 1999 cents).
 *
 * Call sequence for a payload amount:
 *
 *     int e = money_exponent("USD");                  // 2, or -1 when unknown
 *     enum money_status st = money_parse("19.99", e, &minor);   // 1999
 *     if (st != MONEY_OK) -> money_status_text(st) explains why
 */
#ifndef MONEY_H
#define MONEY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum money_status {
	MONEY_OK = 0,
	MONEY_SYNTAX,    /* not a decimal number */
	MONEY_OVERFLOW,  /* does not fit an int64 of minor units */
	MONEY_PRECISION, /* more decimals than the currency's minor unit holds */
};

/* ISO 4217 exponent (0..4) of an active currency code in upper case, or -1
 * for an unknown code and for the funds/metals codes without a minor unit
 * (XAU, XDR, ...). */
int money_exponent(const char *code);

/* Copy a currency code into out upper-cased ("usd" -> "USD"); false unless it
 * is exactly three ASCII letters. Stripe sends lower-case codes. */
bool money_code(const char *in, char out[4]);

/* Number of codes in the table and the i-th (code, exponent), for tests that
 * compare the table with the SQL copy in migrations/0003_orders.sql. */
int money_table_size(void);
const char *money_table_code(int i, int *exponent);

/* Decimal text -> minor units of a currency with `exponent` decimals.
 * Grammar: [-] digits [. digits] [(e|E) [+|-] digits]; leading zeros are
 * allowed, whitespace is not. Negative values are returned as such (the
 * caller decides whether they are allowed). */
enum money_status money_parse(const char *s, int exponent, int64_t *minor);

/* Move an integer amount from `from` decimals to `to` decimals: multiply
 * with overflow check, or divide when it is exact (MONEY_PRECISION if not). */
enum money_status money_rescale(int64_t v, int from, int to, int64_t *out);

/* Stripe's minor unit differs from ISO 4217 for a few currencies (MGA is
 * zero-decimal at Stripe, ISK stays two-decimal in Stripe's API). Returns the
 * exponent Stripe amounts of `code` use, or -1 when the code is unknown. */
int money_stripe_exponent(const char *code);

/* Minor units -> "-1234.56" with exactly `exponent` decimals. False when cap
 * is too small (24 + 1 bytes always suffice). */
bool money_format(int64_t minor, int exponent, char *out, size_t cap);

/* Human text for a status ("has more decimals than the currency allows"). */
const char *money_status_text(enum money_status st);

#endif
