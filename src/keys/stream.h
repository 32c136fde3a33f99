/* SPDX-License-Identifier: MIT */
#ifndef SK_STREAM_H
#define SK_STREAM_H

/*
 * A named key's symmetric operations (keys.h sk_key_cipher, sk_key_mac)
 * over a file or a pipe, in 64 KiB chunks: memory stays the same whatever
 * the size of the input.  "-" is stdin or stdout.
 *
 * AES layouts (seckit-key(1), ENCRYPTION FORMATS):
 *   cbc: IV[16] || ciphertext (PKCS#7 padding)
 *   ctr: IV[16] || ciphertext
 *   gcm: nonce[12] || ciphertext || tag[16]
 * On GCM decryption the tag trails the data: the last 16 bytes read so far
 * are held back until the input ends.  GCM plaintext is only released
 * after the tag verified: to a file through the usual temporary file
 * (fileio.h sk_out), to stdout, a device or a pipe (sk_out_is_stream)
 * from memory, at most SK_STREAM_GCM_MAX bytes of it.
 */

#include <stddef.h>
#include <stdint.h>

#include <openssl/evp.h>

#include "keys/keys.h"

#define SK_STREAM_GCM_MAX (256u << 20)

/*
 * Encrypt (enc) or decrypt the file in with key k (an AES key: the caller
 * opened it with its password) in mode, into out (0666 encrypted, 0600
 * decrypted; nothing is left of it after a failure).  A truncated or
 * tampered input is SK_EVERIFY.  *too_big is set when GCM plaintext bound
 * for a stream passed SK_STREAM_GCM_MAX (the caller can suggest a file).
 */
int sk_stream_crypt(struct sk_key *k, enum sk_cipher_mode mode, int enc, const char *in,
		    const char *out, int *too_big);

/* The MAC (HMAC or CMAC, by the key's type) of the file in with key k;
 * mac holds EVP_MAX_MD_SIZE bytes. */
int sk_stream_mac(struct sk_key *k, const char *in, uint8_t *mac, size_t *maclen);

/* The maclen-byte MAC held in the file at path: binary, as `key mac --out`
 * writes it, or hex as printed (white space around it ignored).
 * SK_EVERIFY if it holds neither. */
int sk_stream_mac_expected(const char *path, size_t maclen, uint8_t *mac);

#endif
