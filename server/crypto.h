/*
 * crypto.h - the few primitives cohortd needs, on OpenSSL: SHA-256 for API
 * keys, HMAC-SHA256 for webhook signatures, base64/hex, constant-time compare
 * and random tokens.
 */
#ifndef CRYPTO_H
#define CRYPTO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define CRYPTO_SHA256_LEN 32

void crypto_sha256(const void *data, size_t len, uint8_t out[CRYPTO_SHA256_LEN]);
void crypto_hmac_sha256(const void *key, size_t key_len, const void *data, size_t len,
			uint8_t out[CRYPTO_SHA256_LEN]);
/* Constant-time equality of two equal-length buffers (CRYPTO_memcmp). */
bool crypto_equal(const void *a, const void *b, size_t len);
/* Lower-case hex into out (2*len+1 bytes). */
void crypto_hex(const uint8_t *in, size_t len, char *out);
/* Standard base64 with padding into out (4*ceil(len/3)+1 bytes). */
void crypto_base64(const uint8_t *in, size_t len, char *out);
/* Decode standard base64; returns decoded length or -1 if malformed/too long. */
long crypto_base64_decode(const char *in, uint8_t *out, size_t out_cap);
/* n random bytes from the OS CSPRNG; false on failure. */
bool crypto_random(uint8_t *out, size_t n);

#endif
