/* SPDX-License-Identifier: MIT */
/* A key's symmetric operations over a stream (stream.h). */
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "crypto/crypto.h"
#include "base/err.h"
#include "base/fileio.h"
#include "keys/stream.h"

#define IO_CHUNK (1u << 16)
#define GCM_TAG 16

/* One encryption or decryption under way. */
struct crypt {
	const char *inpath;
	int enc;
	size_t ivlen, taglen;     /* taglen: 16 for GCM, else 0 */
	struct sk_symop *op;
	struct sk_in in;
	struct sk_out out;
	int to_mem;               /* GCM plaintext bound for a stream: held in mem */
	struct sk_buf mem;
	uint8_t *buf, *obuf;      /* IO_CHUNK + 16 (input and held tag), IO_CHUNK + 32 */
	int *too_big;
};

/* Output of the cipher: to the output, or held in memory until the tag
 * verified (limit: at most SK_STREAM_GCM_MAX held). */
static int emit(struct crypt *c, const uint8_t *p, size_t n, int limit)
{
	if (n == 0)
		return SK_OK;
	if (!c->to_mem)
		return sk_out_write(&c->out, p, n);
	if (limit && c->mem.len + n > SK_STREAM_GCM_MAX) {
		*c->too_big = 1;
		return sk_err(SK_EFAIL, "GCM output to a stream is limited to %u MiB",
			      SK_STREAM_GCM_MAX >> 20);
	}
	return sk_buf_add(&c->mem, p, n);
}

/* The IV: a fresh one written first when encrypting, else the input's. */
static int crypt_iv(struct crypt *c, enum sk_cipher_mode mode, uint8_t *iv)
{
	ssize_t r;

	if (c->enc)
		return sk_random(iv, c->ivlen);
	r = sk_in_read(&c->in, iv, c->ivlen);
	if (r < 0)
		return SK_EFAIL;
	if ((size_t)r != c->ivlen)
		return sk_err(SK_EVERIFY, "'%s' is too short to be %s ciphertext", c->inpath,
			      mode == SK_MODE_GCM ? "AES-GCM" : "AES");
	return SK_OK;
}

/* The input through the cipher, chunk by chunk.  On GCM decryption the
 * tag trails the data: the last 16 bytes of what has been read so far are
 * held back, and are the tag (into tag) once the input ends. */
static int crypt_pump(struct crypt *c, uint8_t *tag)
{
	uint8_t hold[GCM_TAG];
	size_t held = 0, outlen;
	int rc;

	for (;;) {
		ssize_t r = sk_in_read(&c->in, c->buf + held, IO_CHUNK);
		size_t n, use;

		if (r < 0)
			return SK_EFAIL;
		n = held + (size_t)r;
		use = n;
		if (c->taglen && !c->enc)
			use = n > c->taglen ? n - c->taglen : 0;
		if ((rc = c->op->update(c->op, c->buf, use, c->obuf, &outlen)) != SK_OK)
			return rc;
		memmove(hold, c->buf + use, n - use);
		held = n - use;
		memcpy(c->buf, hold, held);
		if ((rc = emit(c, c->obuf, outlen, 1)) != SK_OK)
			return rc;
		if (r == 0)
			break;
	}
	if (c->taglen && !c->enc) {
		if (held != c->taglen)
			return sk_err(SK_EVERIFY, "'%s' is truncated (no GCM tag)", c->inpath);
		memcpy(tag, c->buf, GCM_TAG);
	}
	return SK_OK;
}

static int crypt_run(struct crypt *c, struct sk_key *k, enum sk_cipher_mode mode,
		     const char *outpath)
{
	uint8_t iv[16], tag[GCM_TAG];
	size_t outlen;
	int rc;

	if ((rc = sk_key_require(k, SK_CAP_CIPHER, NULL)) != SK_OK)
		return rc;
	c->buf = malloc(IO_CHUNK + GCM_TAG);
	c->obuf = malloc(IO_CHUNK + 32);
	if (c->buf == NULL || c->obuf == NULL)
		return sk_err(SK_EFAIL, "out of memory");
	if ((rc = sk_in_open(&c->in, c->inpath)) != SK_OK ||
	    (rc = crypt_iv(c, mode, iv)) != SK_OK ||
	    (rc = sk_key_cipher(k, mode, c->enc, iv, c->ivlen, &c->op)) != SK_OK)
		return rc;
	if (!c->to_mem && (rc = sk_out_open(&c->out, outpath, c->enc ? 0666 : 0600)) != SK_OK)
		return rc;
	if (c->enc && (rc = sk_out_write(&c->out, iv, c->ivlen)) != SK_OK)
		return rc;
	if ((rc = crypt_pump(c, tag)) != SK_OK)
		return rc;
	if ((rc = c->op->final(c->op, c->obuf, &outlen, tag)) != SK_OK ||
	    (rc = emit(c, c->obuf, outlen, 0)) != SK_OK)
		return rc;
	if (c->enc && c->taglen && (rc = sk_out_write(&c->out, tag, c->taglen)) != SK_OK)
		return rc;
	if (c->to_mem)
		return sk_write_file(outpath, c->mem.p, c->mem.len, 0600);
	return sk_out_commit(&c->out);
}

int sk_stream_crypt(struct sk_key *k, enum sk_cipher_mode mode, int enc, const char *in,
		    const char *out, int *too_big)
{
	struct crypt c = {
		.inpath = in,
		.enc = enc,
		.ivlen = mode == SK_MODE_GCM ? 12 : 16,
		.taglen = mode == SK_MODE_GCM ? GCM_TAG : 0,
		.in = { .fd = -1 },
		.out = { .fd = -1 },
		.to_mem = !enc && mode == SK_MODE_GCM && sk_out_is_stream(out),
		.too_big = too_big,
	};
	int rc;

	*too_big = 0;
	rc = crypt_run(&c, k, mode, out);
	if (rc != SK_OK && !c.to_mem)
		sk_out_abort(&c.out);
	sk_in_close(&c.in);
	if (c.op != NULL)
		c.op->free(c.op);
	if (c.buf)
		OPENSSL_cleanse(c.buf, IO_CHUNK + GCM_TAG);
	if (c.obuf)
		OPENSSL_cleanse(c.obuf, IO_CHUNK + 32);
	free(c.buf);
	free(c.obuf);
	sk_buf_cleanse_free(&c.mem);
	return rc;
}

int sk_stream_mac(struct sk_key *k, const char *inpath, uint8_t *mac, size_t *maclen)
{
	struct sk_symop *op = NULL;
	struct sk_in in = { .fd = -1 };
	uint8_t *buf = NULL, dummy[32];
	size_t dl;
	int rc;

	*maclen = 0;
	if ((rc = sk_key_mac(k, &op)) != SK_OK)
		return rc;
	if ((buf = malloc(IO_CHUNK)) == NULL) {
		rc = sk_err(SK_EFAIL, "out of memory");
		goto out;
	}
	if ((rc = sk_in_open(&in, inpath)) != SK_OK)
		goto out;
	for (;;) {
		ssize_t r = sk_in_read(&in, buf, IO_CHUNK);

		if (r < 0) {
			rc = SK_EFAIL;
			goto out;
		}
		if (r == 0)
			break;
		if ((rc = op->update(op, buf, (size_t)r, dummy, &dl)) != SK_OK)
			goto out;
	}
	rc = op->final(op, mac, maclen, NULL);
out:
	sk_in_close(&in);
	free(buf);
	if (op != NULL)
		op->free(op);
	return rc;
}

int sk_stream_mac_expected(const char *path, size_t maclen, uint8_t *mac)
{
	struct sk_buf b = { 0 };
	char hex[2 * EVP_MAX_MD_SIZE + 1];
	size_t s = 0, e;
	int rc;

	if ((rc = sk_read_file(path, 4 * EVP_MAX_MD_SIZE, &b)) != SK_OK)
		return rc;
	e = b.len;
	if (b.len == maclen) {
		memcpy(mac, b.p, maclen);
		goto out;
	}
	while (s < e && strchr(" \t\r\n", b.p[s]))
		s++;
	while (e > s && strchr(" \t\r\n", b.p[e - 1]))
		e--;
	if (e - s != 2 * maclen) {
		rc = sk_err(SK_EVERIFY, "'%s' does not hold a %zu-byte MAC", path, maclen);
		goto out;
	}
	memcpy(hex, b.p + s, e - s);
	hex[e - s] = '\0';
	if (sk_unhex(mac, maclen, hex) != 0)
		rc = sk_err(SK_EVERIFY, "'%s' does not hold a %zu-byte MAC", path, maclen);
out:
	sk_buf_free(&b);
	return rc;
}
