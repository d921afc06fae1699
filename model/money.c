/*
 * money.c - see money.h.
 *
 * The exponent table is ISO 4217 list one (active codes, 2025 edition,
 * including XCG and ZWG). Codes whose minor unit is "N.A." in the standard
 * (gold, SDR, the test code XTS, the no-currency code) are left out on purpose: an order in them is
 * a mistake we want to reject with 422, not guess. The same table is seeded
 * into the `currencies` SQL table by migrations/0003_orders.sql so reporting
 * queries can convert between exponents; tests/unit/test_money.c checks that
 * the two copies agree.
 */
#include "model/money.h"

#include <stdio.h>
#include <string.h>

struct currency {
	char code[4];
	signed char exponent;
};

/* Sorted by code (binary search). */
static const struct currency table[] = {
	{ "AED", 2 }, { "AFN", 2 }, { "ALL", 2 }, { "AMD", 2 }, { "ANG", 2 }, { "AOA", 2 },
	{ "ARS", 2 }, { "AUD", 2 }, { "AWG", 2 }, { "AZN", 2 }, { "BAM", 2 }, { "BBD", 2 },
	{ "BDT", 2 }, { "BGN", 2 }, { "BHD", 3 }, { "BIF", 0 }, { "BMD", 2 }, { "BND", 2 },
	{ "BOB", 2 }, { "BOV", 2 }, { "BRL", 2 }, { "BSD", 2 }, { "BTN", 2 }, { "BWP", 2 },
	{ "BYN", 2 }, { "BZD", 2 }, { "CAD", 2 }, { "CDF", 2 }, { "CHE", 2 }, { "CHF", 2 },
	{ "CHW", 2 }, { "CLF", 4 }, { "CLP", 0 }, { "CNY", 2 }, { "COP", 2 }, { "COU", 2 },
	{ "CRC", 2 }, { "CUP", 2 }, { "CVE", 2 }, { "CZK", 2 }, { "DJF", 0 }, { "DKK", 2 },
	{ "DOP", 2 }, { "DZD", 2 }, { "EGP", 2 }, { "ERN", 2 }, { "ETB", 2 }, { "EUR", 2 },
	{ "FJD", 2 }, { "FKP", 2 }, { "GBP", 2 }, { "GEL", 2 }, { "GHS", 2 }, { "GIP", 2 },
	{ "GMD", 2 }, { "GNF", 0 }, { "GTQ", 2 }, { "GYD", 2 }, { "HKD", 2 }, { "HNL", 2 },
	{ "HTG", 2 }, { "HUF", 2 }, { "IDR", 2 }, { "ILS", 2 }, { "INR", 2 }, { "IQD", 3 },
	{ "IRR", 2 }, { "ISK", 0 }, { "JMD", 2 }, { "JOD", 3 }, { "JPY", 0 }, { "KES", 2 },
	{ "KGS", 2 }, { "KHR", 2 }, { "KMF", 0 }, { "KPW", 2 }, { "KRW", 0 }, { "KWD", 3 },
	{ "KYD", 2 }, { "KZT", 2 }, { "LAK", 2 }, { "LBP", 2 }, { "LKR", 2 }, { "LRD", 2 },
	{ "LSL", 2 }, { "LYD", 3 }, { "MAD", 2 }, { "MDL", 2 }, { "MGA", 2 }, { "MKD", 2 },
	{ "MMK", 2 }, { "MNT", 2 }, { "MOP", 2 }, { "MRU", 2 }, { "MUR", 2 }, { "MVR", 2 },
	{ "MWK", 2 }, { "MXN", 2 }, { "MXV", 2 }, { "MYR", 2 }, { "MZN", 2 }, { "NAD", 2 },
	{ "NGN", 2 }, { "NIO", 2 }, { "NOK", 2 }, { "NPR", 2 }, { "NZD", 2 }, { "OMR", 3 },
	{ "PAB", 2 }, { "PEN", 2 }, { "PGK", 2 }, { "PHP", 2 }, { "PKR", 2 }, { "PLN", 2 },
	{ "PYG", 0 }, { "QAR", 2 }, { "RON", 2 }, { "RSD", 2 }, { "RUB", 2 }, { "RWF", 0 },
	{ "SAR", 2 }, { "SBD", 2 }, { "SCR", 2 }, { "SDG", 2 }, { "SEK", 2 }, { "SGD", 2 },
	{ "SHP", 2 }, { "SLE", 2 }, { "SOS", 2 }, { "SRD", 2 }, { "SSP", 2 }, { "STN", 2 },
	{ "SVC", 2 }, { "SYP", 2 }, { "SZL", 2 }, { "THB", 2 }, { "TJS", 2 }, { "TMT", 2 },
	{ "TND", 3 }, { "TOP", 2 }, { "TRY", 2 }, { "TTD", 2 }, { "TWD", 2 }, { "TZS", 2 },
	{ "UAH", 2 }, { "UGX", 0 }, { "USD", 2 }, { "USN", 2 }, { "UYI", 0 }, { "UYU", 2 },
	{ "UYW", 4 }, { "UZS", 2 }, { "VED", 2 }, { "VES", 2 }, { "VND", 0 }, { "VUV", 0 },
	{ "WST", 2 }, { "XAF", 0 }, { "XCD", 2 }, { "XCG", 2 }, { "XOF", 0 }, { "XPF", 0 },
	{ "YER", 2 }, { "ZAR", 2 }, { "ZMW", 2 }, { "ZWG", 2 },
};

#define N_CURRENCIES ((int)(sizeof(table) / sizeof(table[0])))

static const struct currency *find(const char *code)
{
	int lo = 0, hi = N_CURRENCIES - 1;

	if (!code || strlen(code) != 3)
		return NULL;
	while (lo <= hi) {
		int mid = (lo + hi) / 2;
		int c = strcmp(code, table[mid].code);
		if (c == 0)
			return &table[mid];
		if (c < 0)
			hi = mid - 1;
		else
			lo = mid + 1;
	}
	return NULL;
}

int money_exponent(const char *code)
{
	const struct currency *c = find(code);
	return c ? c->exponent : -1;
}

bool money_code(const char *in, char out[4])
{
	if (!in || strlen(in) != 3)
		return false;
	for (int i = 0; i < 3; i++) {
		char ch = in[i];
		if (ch >= 'a' && ch <= 'z')
			ch = (char)(ch - 'a' + 'A');
		if (ch < 'A' || ch > 'Z')
			return false;
		out[i] = ch;
	}
	out[3] = '\0';
	return true;
}

int money_table_size(void)
{
	return N_CURRENCIES;
}

const char *money_table_code(int i, int *exponent)
{
	if (i < 0 || i >= N_CURRENCIES)
		return NULL;
	*exponent = table[i].exponent;
	return table[i].code;
}

int money_stripe_exponent(const char *code)
{
	/* stripe.com/docs/currencies: zero-decimal list, three-decimal list, and
	 * the ISK special case ("remains a two-decimal currency in the API"). */
	static const char *const zero[] = { "BIF", "CLP", "DJF", "GNF", "JPY", "KMF", "KRW", "MGA",
					    "PYG", "RWF", "UGX", "VND", "VUV", "XAF", "XOF", "XPF" };
	static const char *const three[] = { "BHD", "JOD", "KWD", "OMR", "TND" };

	if (money_exponent(code) < 0)
		return -1;
	for (size_t i = 0; i < sizeof(zero) / sizeof(zero[0]); i++)
		if (strcmp(code, zero[i]) == 0)
			return 0;
	for (size_t i = 0; i < sizeof(three) / sizeof(three[0]); i++)
		if (strcmp(code, three[i]) == 0)
			return 3;
	return 2;
}

/* v * 10^k for k >= 0 with an overflow check on every step. */
static enum money_status mul_pow10(uint64_t v, int k, uint64_t limit, uint64_t *out)
{
	for (int i = 0; i < k; i++) {
		if (v > limit / 10)
			return MONEY_OVERFLOW;
		v *= 10;
	}
	*out = v;
	return MONEY_OK;
}

enum money_status money_rescale(int64_t v, int from, int to, int64_t *out)
{
	bool neg = v < 0;
	/* Magnitude in uint64 so INT64_MIN does not overflow on negation. */
	uint64_t m = neg ? (uint64_t)0 - (uint64_t)v : (uint64_t)v;
	uint64_t limit = neg ? (uint64_t)INT64_MAX + 1 : (uint64_t)INT64_MAX;
	enum money_status st;

	if (to >= from) {
		st = mul_pow10(m, to - from, limit, &m);
		if (st != MONEY_OK)
			return st;
	} else {
		for (int i = 0; i < from - to; i++) {
			if (m % 10 != 0)
				return MONEY_PRECISION;
			m /= 10;
		}
	}
	if (neg)
		*out = m == (uint64_t)INT64_MAX + 1 ? INT64_MIN : -(int64_t)m;
	else
		*out = (int64_t)m;
	return MONEY_OK;
}

/* "[-]int[.frac][e[+-]exp]" as significand digits D (leading zeros dropped)
 * and a power of ten: value = D * 10^scale. */
struct decimal {
	bool neg;
	char digits[40];
	int n;
	long scale;
	bool inexact_tail; /* a nonzero digit beyond the 40 kept was dropped */
};

static void take_digit(struct decimal *d, char c, bool frac)
{
	if (d->n == 0 && c == '0') {
		if (frac)
			d->scale--;
		return;
	}
	if (d->n < (int)sizeof(d->digits)) {
		d->digits[d->n++] = c;
		if (frac)
			d->scale--;
		return;
	}
	/* 40 significant digits can never fit an int64 exactly, so what is
	 * dropped only decides between overflow and lost precision. */
	if (!frac)
		d->scale++;
	if (c != '0')
		d->inexact_tail = true;
}

static enum money_status lex(const char *s, struct decimal *d)
{
	const char *p = s;
	bool any = false;
	long e = 0;
	int esign = 1;

	memset(d, 0, sizeof(*d));
	if (*p == '-') {
		d->neg = true;
		p++;
	}
	for (; *p >= '0' && *p <= '9'; p++, any = true)
		take_digit(d, *p, false);
	if (!any)
		return MONEY_SYNTAX;
	if (*p == '.') {
		p++;
		if (!(*p >= '0' && *p <= '9'))
			return MONEY_SYNTAX;
		for (; *p >= '0' && *p <= '9'; p++)
			take_digit(d, *p, true);
	}
	if (*p == 'e' || *p == 'E') {
		p++;
		if (*p == '+' || *p == '-')
			esign = *p++ == '-' ? -1 : 1;
		if (!(*p >= '0' && *p <= '9'))
			return MONEY_SYNTAX;
		for (; *p >= '0' && *p <= '9'; p++)
			if (e < 100000) /* saturate: anything larger over/underflows anyway */
				e = e * 10 + (*p - '0');
	}
	if (*p)
		return MONEY_SYNTAX;
	d->scale += esign * e;
	return MONEY_OK;
}

enum money_status money_parse(const char *s, int exponent, int64_t *minor)
{
	struct decimal d;
	enum money_status st;
	uint64_t v = 0, limit;
	long k;

	if (!s || exponent < 0 || exponent > 18)
		return MONEY_SYNTAX;
	st = lex(s, &d);
	if (st != MONEY_OK)
		return st;
	if (d.inexact_tail)
		return d.n + d.scale + exponent > 19 ? MONEY_OVERFLOW : MONEY_PRECISION;
	if (d.n == 0) { /* all zeros: "-0.000" is zero */
		*minor = 0;
		return MONEY_OK;
	}
	k = d.scale + exponent;
	/* Trailing zeros of the significand absorb a negative power exactly. */
	while (k < 0 && d.digits[d.n - 1] == '0') {
		d.n--;
		k++;
	}
	if (k < 0)
		return MONEY_PRECISION;
	if (d.n + k > 19) /* 20 or more digits: at least 10^19 > INT64_MAX */
		return MONEY_OVERFLOW;
	limit = d.neg ? (uint64_t)INT64_MAX + 1 : (uint64_t)INT64_MAX;
	for (int i = 0; i < d.n; i++) {
		uint64_t digit = (uint64_t)(d.digits[i] - '0');
		if (v > (limit - digit) / 10)
			return MONEY_OVERFLOW;
		v = v * 10 + digit;
	}
	st = mul_pow10(v, (int)k, limit, &v);
	if (st != MONEY_OK)
		return st;
	if (d.neg)
		*minor = v == (uint64_t)INT64_MAX + 1 ? INT64_MIN : -(int64_t)v;
	else
		*minor = (int64_t)v;
	return MONEY_OK;
}

bool money_format(int64_t minor, int exponent, char *out, size_t cap)
{
	uint64_t m = minor < 0 ? (uint64_t)0 - (uint64_t)minor : (uint64_t)minor;
	char digits[32];
	int n, len;

	if (exponent < 0 || exponent > 18)
		return false;
	n = snprintf(digits, sizeof(digits), "%0*llu", exponent + 1, (unsigned long long)m);
	if (n < 0 || (size_t)n >= sizeof(digits))
		return false;
	if (exponent == 0)
		len = snprintf(out, cap, "%s%s", minor < 0 ? "-" : "", digits);
	else
		len = snprintf(out, cap, "%s%.*s.%s", minor < 0 ? "-" : "", n - exponent, digits,
			       digits + n - exponent);
	return len >= 0 && (size_t)len < cap;
}

const char *money_status_text(enum money_status st)
{
	switch (st) {
	case MONEY_OK:
		return "is valid";
	case MONEY_SYNTAX:
		return "is not a decimal number";
	case MONEY_OVERFLOW:
		return "does not fit a 64-bit count of minor units";
	case MONEY_PRECISION:
		return "has more decimals than the currency's minor unit";
	}
	return "is invalid";
}
