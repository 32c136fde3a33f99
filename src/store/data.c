/* SPDX-License-Identifier: MIT */
#include "store/data.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/x509.h>

#include "crypto/crypto.h"
#include "base/err.h"
#include "base/util.h"
#include "keys/password.h"
#include "store/store.h"

/* Attribute tags of data objects (docs/formats/store.md). */
enum {
	A_PWREC = 1, /* password record (password.h) */
	A_DKEY = 2,  /* data key wrapped under the record's root (sk_pw_wrap) */
	A_PCRS = 3,  /* sealed to PCRs: bank alg (2), mask (4), the values */
	A_SEALED = 4, /* the data key sealed to them (backend seal_pcr blob) */
	A_OEMKEY = 5, /* sealed under PolicyAuthorize by this key (SPKI DER);
		       * the blob (seal_authorized) in A_SEALED */
};

#define IO_CHUNK (1u << 16)

static void wrap_label(const char *name, char out[300])
{
	snprintf(out, 300, "data/%s", name);
}

static int check_name(const char *name)
{
	if (!sk_name_valid(name))
		return sk_err(SK_EUSAGE, "'%s' is not a valid object name (1 to 255 of letters, digits, '.', '_', '@', '+', '-'; not starting with '.' or '-')",
			      name);
	return SK_OK;
}

static int is_protected(const struct sk_obj_info *o, const uint8_t **rec, size_t *reclen)
{
	const uint8_t *p;
	size_t n;

	if (sk_attr_get(o->meta, o->metalen, A_PWREC, &p, &n) != 1)
		return 0;
	if (rec != NULL) {
		*rec = p;
		*reclen = n;
	}
	return 1;
}

/* The PCR binding of o (A_PCRS): 1 with bank, mask and the values sealed
 * to; 0 if o is not sealed to PCRs; -1 if the attribute is malformed. */
static int pcr_binding(const struct sk_obj_info *o, struct sk_pcr_binding *pb)
{
	const uint8_t *p;
	size_t n;

	if (sk_attr_get(o->meta, o->metalen, A_PCRS, &p, &n) != 1)
		return 0;
	return sk_pcr_binding_get(p, n, pb) == n ? 1 : -1;
}

/* Meta and data key of a new version sealed to pcrs. */
static int seal_pcrs(struct sk_ctx *ctx, const char *name, const struct sk_data_pcrs *pcrs,
		     struct sk_buf *meta, uint8_t key[32])
{
	struct sk_pcr_binding pb = { .bank = pcrs->bank, .mask = pcrs->mask };
	struct sk_buf blob = { 0 }, attr = { 0 };
	struct sk_backend *be;
	int rc;

	if (pcrs->mask == 0 || (pcrs->mask >> SK_PCR_COUNT) != 0)
		return sk_err(SK_EUSAGE, "object '%s': no PCR to seal to", name);
	if ((rc = sk_ctx_backend(ctx, &be)) != SK_OK)
		return rc;
	if (be->ops->seal_pcr == NULL)
		return sk_err(SK_EUNSUPP, "object '%s': the %s backend cannot seal to PCRs (use the tpm2 backend)",
			      name, be->ops->name);
	if ((rc = sk_random(key, 32)) != SK_OK)
		return rc;
	rc = be->ops->seal_pcr(be, pcrs->bank, pcrs->mask, key, 32, &blob, pb.vals, 0);
	if (rc != SK_OK) {
		sk_err_wrap(rc, "object '%s'", name);
		goto out;
	}
	if ((rc = sk_pcr_binding_put(&attr, &pb)) == SK_OK &&
	    (rc = sk_attr_put(meta, A_PCRS, attr.p, attr.len)) == SK_OK)
		rc = sk_attr_put(meta, A_SEALED, blob.p, blob.len);
out:
	sk_buf_free(&attr);
	sk_buf_free(&blob);
	return rc;
}

/* The data key of o, sealed to PCRs: SK_EVERIFY naming the first
 * selected PCR whose value is not the one sealed to. */
static int unseal_pcrs(struct sk_ctx *ctx, const struct sk_obj_info *o, uint8_t key[32])
{
	uint8_t cur[SK_PCR_COUNT][SK_PCR_MAX_DIGEST];
	struct sk_pcr_binding pb;
	struct sk_buf dk = { 0 };
	struct sk_backend *be;
	const uint8_t *blob;
	size_t bloblen;
	int rc, i;

	if (pcr_binding(o, &pb) != 1 ||
	    sk_attr_get(o->meta, o->metalen, A_SEALED, &blob, &bloblen) != 1 || !(o->flags & SK_OBJ_KEYED))
		return sk_err(SK_EVERIFY, "object '%s' is malformed (PCR binding without sealed key)", o->name);
	if ((rc = sk_ctx_backend(ctx, &be)) != SK_OK)
		return rc;
	if (be->ops->unseal_pcr == NULL)
		return sk_err(SK_EUNSUPP, "object '%s' is sealed to PCRs: the %s backend cannot unseal it (use the tpm2 backend)",
			      o->name, be->ops->name);
	memset(cur, 0, sizeof(cur));
	rc = be->ops->unseal_pcr(be, blob, bloblen, pb.bank, pb.mask, &dk, cur);
	if (rc == SK_EVERIFY) {
		if ((i = sk_pcr_first_changed(&pb, (const uint8_t(*)[SK_PCR_MAX_DIGEST])cur)) >= 0)
			rc = sk_err(SK_EVERIFY, "object '%s': sealed to PCR %d, which changed since",
				    o->name, i);
		else
			sk_err_wrap(rc, "object '%s'", o->name);
	} else if (rc == SK_OK && dk.len != 32) {
		rc = sk_err(SK_EVERIFY, "object '%s': sealed data key has the wrong length", o->name);
	} else if (rc != SK_OK) {
		sk_err_wrap(rc, "object '%s'", o->name);
	}
	if (rc == SK_OK)
		memcpy(key, dk.p, 32);
	sk_buf_cleanse_free(&dk);
	return rc;
}

/* The OEM key of an object sealed under PolicyAuthorize (A_OEMKEY): 1
 * with *oem (NULL: not wanted), 0 without, -1 if malformed. */
static int oem_binding(const struct sk_obj_info *o, EVP_PKEY **oem)
{
	const uint8_t *p;
	size_t n;
	EVP_PKEY *k;

	if (sk_attr_get(o->meta, o->metalen, A_OEMKEY, &p, &n) != 1)
		return 0;
	if ((k = d2i_PUBKEY(NULL, &p, (long)n)) == NULL)
		return -1;
	if (oem != NULL)
		*oem = k;
	else
		EVP_PKEY_free(k);
	return 1;
}

static int seal_authorized(struct sk_ctx *ctx, const char *name, EVP_PKEY *oem,
			   struct sk_buf *meta, uint8_t key[32])
{
	struct sk_buf blob = { 0 };
	struct sk_backend *be;
	unsigned char *der = NULL;
	int rc, len;

	if ((rc = sk_ctx_backend(ctx, &be)) != SK_OK)
		return rc;
	if (be->ops->seal_authorized == NULL)
		return sk_err(SK_EUNSUPP, "object '%s': the %s backend cannot seal under a PCR policy (use the tpm2 backend)",
			      name, be->ops->name);
	if ((len = i2d_PUBKEY(oem, &der)) <= 0)
		return sk_err_ssl(SK_EFAIL, "object '%s': encoding the OEM key", name);
	if ((rc = sk_random(key, 32)) == SK_OK &&
	    (rc = be->ops->seal_authorized(be, oem, key, 32, &blob)) != SK_OK)
		sk_err_wrap(rc, "object '%s'", name);
	if (rc == SK_OK && (rc = sk_attr_put(meta, A_OEMKEY, der, (size_t)len)) == SK_OK)
		rc = sk_attr_put(meta, A_SEALED, blob.p, blob.len);
	OPENSSL_free(der);
	sk_buf_free(&blob);
	return rc;
}

/* The data key of o, sealed under the OEM's PolicyAuthorize, with the
 * signed prediction ap: SK_EVERIFY naming the first PCR that does not
 * hold the approved value, or saying why the TPM refused. */
static int unseal_authorized(struct sk_ctx *ctx, const struct sk_obj_info *o,
			     const struct sk_pcr_approval *ap, uint8_t key[32])
{
	uint8_t cur[SK_PCR_COUNT][SK_PCR_MAX_DIGEST];
	struct sk_buf dk = { 0 };
	struct sk_backend *be;
	EVP_PKEY *oem = NULL;
	const uint8_t *blob;
	size_t bloblen;
	int rc;

	if (oem_binding(o, &oem) != 1 || sk_attr_get(o->meta, o->metalen, A_SEALED, &blob, &bloblen) != 1 ||
	    !(o->flags & SK_OBJ_KEYED)) {
		EVP_PKEY_free(oem);
		return sk_err(SK_EVERIFY, "object '%s' is malformed (OEM policy without sealed key)", o->name);
	}
	if (ap == NULL) {
		rc = sk_err(SK_EVERIFY, "object '%s' is sealed under the OEM's policy: it opens only with a prediction the OEM signed",
			    o->name);
		goto out;
	}
	if ((rc = sk_ctx_backend(ctx, &be)) != SK_OK)
		goto out;
	if (be->ops->unseal_authorized == NULL) {
		rc = sk_err(SK_EUNSUPP, "object '%s' is sealed under a PCR policy: the %s backend cannot unseal it (use the tpm2 backend)",
			    o->name, be->ops->name);
		goto out;
	}
	memset(cur, 0, sizeof(cur));
	rc = be->ops->unseal_authorized(be, blob, bloblen, oem, ap, &dk, cur);
	if (rc == SK_OK && dk.len != 32) {
		rc = sk_err(SK_EVERIFY, "object '%s': sealed data key has the wrong length", o->name);
	} else if (rc != SK_OK) {
		sk_err_wrap(rc, "object '%s'", o->name);
	}
	if (rc == SK_OK)
		memcpy(key, dk.p, 32);
out:
	EVP_PKEY_free(oem);
	sk_buf_cleanse_free(&dk);
	return rc;
}

/* The secret for an object: from spec, or a prompt on a terminal. */
static int get_secret(const char *name, const char *spec, int confirm, struct sk_secret *s)
{
	char what[300];

	if (s->p != NULL)
		return SK_OK;
	snprintf(what, sizeof(what), "password of object '%s'", name);
	return sk_password_secret(spec, what, confirm, s);
}

/*
 * Check s against the password of object o; on success key (optional)
 * receives its data key.  SK_EAUTH for a wrong or missing password.
 */
static int unlock(const struct sk_obj_info *o, const char *spec, struct sk_secret *s,
		  uint8_t key[32])
{
	struct sk_buf dk = { 0 };
	const uint8_t *rec, *w;
	size_t reclen, wlen;
	uint8_t root[32];
	char label[300];
	int rc;

	if (!is_protected(o, &rec, &reclen))
		return SK_OK;
	if (sk_attr_get(o->meta, o->metalen, A_DKEY, &w, &wlen) != 1 || !(o->flags & SK_OBJ_KEYED))
		return sk_err(SK_EVERIFY, "object '%s' is malformed (password record without data key)",
			      o->name);
	if ((rc = get_secret(o->name, spec, 0, s)) != SK_OK)
		return rc;
	rc = sk_pwrec_check(rec, reclen, s, root);
	if (rc == SK_EAUTH)
		return sk_err(SK_EAUTH, "wrong password for object '%s'", o->name);
	if (rc != SK_OK)
		return sk_err_wrap(rc, "object '%s'", o->name);
	if (key != NULL) {
		wrap_label(o->name, label);
		rc = sk_pw_unwrap(root, label, w, wlen, &dk);
		if (rc == SK_OK && dk.len != 32)
			rc = sk_err(SK_EVERIFY, "object '%s': data key has the wrong length", o->name);
		if (rc == SK_OK)
			memcpy(key, dk.p, 32);
		else
			sk_err_wrap(rc, "object '%s'", o->name);
	}
	OPENSSL_cleanse(root, sizeof(root));
	sk_buf_cleanse_free(&dk);
	return rc;
}

/* Meta and data key of a new protected version. */
static int protect(struct sk_ctx *ctx, const char *name, const struct sk_secret *s,
		   struct sk_buf *meta, uint8_t key[32])
{
	struct sk_buf w = { 0 };
	uint8_t rec[SK_PWREC_LEN], root[32];
	char label[300];
	int rc;

	if (s->len == 0)
		return sk_err(SK_EUSAGE, "object '%s': the password is empty", name);
	wrap_label(name, label);
	if ((rc = sk_pwrec_new(s, ctx->cfg.kdf_n, ctx->cfg.kdf_r, ctx->cfg.kdf_p, rec, root)) == SK_OK &&
	    (rc = sk_random(key, 32)) == SK_OK &&
	    (rc = sk_pw_wrap(root, label, key, 32, &w)) == SK_OK &&
	    (rc = sk_attr_put(meta, A_PWREC, rec, sizeof(rec))) == SK_OK)
		rc = sk_attr_put(meta, A_DKEY, w.p, w.len);
	OPENSSL_cleanse(root, sizeof(root));
	sk_buf_free(&w);
	return rc;
}

/* Whether the current version of name may be replaced or removed with s.
 * *exists and seen carry what an earlier call saw (set *exists to 0 the
 * first time): an unchanged version is not checked again. */
static int authorize(struct sk_store *st, const char *name, const char *spec,
		     struct sk_secret *s, int *exists, uint8_t seen[16])
{
	struct sk_obj_info o;
	int rc = sk_store_stat(st, SK_NS_DATA, name, &o), was = *exists;

	*exists = rc == SK_OK;
	if (rc == SK_ENOTFOUND)
		return SK_OK;
	if (rc != SK_OK)
		return rc;
	/* Checked already (this version, same secret): no second scrypt. */
	if (was && memcmp(seen, o.version, 16) == 0) {
		sk_obj_info_free(&o);
		return SK_OK;
	}
	memcpy(seen, o.version, 16);
	rc = unlock(&o, spec, s, NULL);
	sk_obj_info_free(&o);
	return rc;
}

int sk_data_write(struct sk_ctx *ctx, const char *name, const char *pass_spec,
		  const struct sk_data_pcrs *pcrs, struct sk_in *in)
{
	struct sk_store *st;
	struct sk_txn *t = NULL;
	struct sk_writer *w = NULL;
	struct sk_secret s = { 0 };
	struct sk_buf meta = { 0 };
	uint8_t key[32], seen[16], *buf = NULL;
	int rc, exists = 0;

	if ((rc = check_name(name)) != SK_OK)
		return rc;
	if (pcrs != NULL && pass_spec != NULL)
		return sk_err(SK_EUSAGE, "object '%s': sealed to PCRs or protected by a password, not both",
			      name);
	if ((rc = sk_ctx_store(ctx, 1, &st)) != SK_OK)
		return rc;
	if ((buf = malloc(IO_CHUNK)) == NULL)
		return sk_err(SK_EFAIL, "out of memory");
	/* Check the password of the current version before reading any input,
	 * then stream the input without holding the store lock. */
	if ((rc = authorize(st, name, pass_spec, &s, &exists, seen)) != SK_OK)
		goto out;
	if (pcrs != NULL && pcrs->oem != NULL) {
		if ((rc = seal_authorized(ctx, name, pcrs->oem, &meta, key)) != SK_OK)
			goto out;
	} else if (pcrs != NULL) {
		if ((rc = seal_pcrs(ctx, name, pcrs, &meta, key)) != SK_OK)
			goto out;
	} else if (pass_spec != NULL || s.p != NULL) {
		/* A new password is typed twice; a checked one is reused. */
		if ((rc = get_secret(name, pass_spec, 1, &s)) != SK_OK ||
		    (rc = protect(ctx, name, &s, &meta, key)) != SK_OK)
			goto out;
	}
	if ((rc = sk_txn_begin_unlocked(st, &t)) != SK_OK)
		goto out;
	rc = s.p != NULL || pcrs != NULL ? sk_writer_open_keyed(t, SK_NS_DATA, name, meta.p, meta.len, key, &w)
			 : sk_writer_open(t, SK_NS_DATA, name, NULL, 0, &w);
	if (rc != SK_OK)
		goto out;
	for (;;) {
		ssize_t r = sk_in_read(in, buf, IO_CHUNK);

		if (r < 0) {
			rc = SK_EFAIL;
			goto out;
		}
		if (r == 0)
			break;
		if ((rc = sk_writer_write(w, buf, (size_t)r)) != SK_OK)
			goto out;
	}
	rc = sk_writer_close(w);
	w = NULL;
	if (rc != SK_OK)
		goto out;
	/* Under the lock: if someone replaced the object meanwhile, its new
	 * version must accept our password too. */
	if ((rc = sk_txn_lock(t)) != SK_OK)
		goto out;
	if ((rc = authorize(st, name, pass_spec, &s, &exists, seen)) != SK_OK)
		goto out;
	rc = sk_txn_commit(t);
	t = NULL;
out:
	sk_writer_abort(w);
	sk_txn_abort(t);
	OPENSSL_cleanse(key, sizeof(key));
	if (buf != NULL) {
		OPENSSL_cleanse(buf, IO_CHUNK);
		free(buf);
	}
	sk_buf_free(&meta);
	sk_secret_free(&s);
	return rc;
}

static int copy_out(struct sk_reader *r, struct sk_out *out, uint8_t *buf)
{
	for (;;) {
		ssize_t n = sk_reader_read(r, buf, IO_CHUNK);
		int rc;

		if (n < 0)
			return sk_reader_rc(r);
		if (n == 0)
			return SK_OK;
		if (out != NULL && (rc = sk_out_write(out, buf, (size_t)n)) != SK_OK)
			return rc;
	}
}

int sk_data_read(struct sk_ctx *ctx, const char *name, const char *pass_spec,
		 const struct sk_pcr_approval *ap, struct sk_out *out)
{
	struct sk_store *st;
	struct sk_reader *r = NULL;
	struct sk_obj_info o = { 0 };
	struct sk_secret s = { 0 };
	struct sk_pcr_binding pb;
	uint8_t key[32], *buf = NULL;
	int rc;

	if ((rc = check_name(name)) != SK_OK)
		return rc;
	if ((rc = sk_ctx_store(ctx, 0, &st)) != SK_OK)
		return rc;
	if ((rc = sk_reader_open(st, SK_NS_DATA, name, &o, &r)) != SK_OK)
		return rc;
	if (is_protected(&o, NULL, NULL)) {
		if ((rc = unlock(&o, pass_spec, &s, key)) != SK_OK ||
		    (rc = sk_reader_key(r, key)) != SK_OK)
			goto out;
	} else if (oem_binding(&o, NULL) != 0) {
		if ((rc = unseal_authorized(ctx, &o, ap, key)) != SK_OK || (rc = sk_reader_key(r, key)) != SK_OK)
			goto out;
	} else if (pcr_binding(&o, &pb) != 0) {
		if ((rc = unseal_pcrs(ctx, &o, key)) != SK_OK || (rc = sk_reader_key(r, key)) != SK_OK)
			goto out;
	} else if (o.flags & SK_OBJ_KEYED) {
		rc = sk_err(SK_EVERIFY, "object '%s' is malformed (keyed without a password record)", name);
		goto out;
	}
	if ((buf = malloc(IO_CHUNK)) == NULL) {
		rc = sk_err(SK_EFAIL, "out of memory");
		goto out;
	}
	/* stdout cannot be taken back: verify everything first. */
	if (out->is_stdout && ((rc = copy_out(r, NULL, buf)) != SK_OK || (rc = sk_reader_rewind(r)) != SK_OK))
		goto out;
	rc = copy_out(r, out, buf);
out:
	if (buf != NULL) {
		OPENSSL_cleanse(buf, IO_CHUNK);
		free(buf);
	}
	OPENSSL_cleanse(key, sizeof(key));
	sk_secret_free(&s);
	sk_reader_close(r);
	sk_obj_info_free(&o);
	return rc;
}

static void fill_info(const struct sk_obj_info *o, struct sk_data_info *d)
{
	uint8_t comp[SK_PCR_COMPOSITE_LEN];
	struct sk_pcr_binding pb = { .bank = SK_BANK_SHA256 };
	EVP_PKEY *oem = NULL;

	memset(d, 0, sizeof(*d));
	snprintf(d->name, sizeof(d->name), "%s", o->name);
	d->size = o->size;
	d->mtime = o->mtime;
	d->password = is_protected(o, NULL, NULL);
	if (oem_binding(o, &oem) == 1) {
		d->authorized = 1;
		if (sk_pkey_fingerprint(oem, d->oem_fpr) != SK_OK)
			d->oem_fpr[0] = '\0';
		EVP_PKEY_free(oem);
	}
	d->sealed = pcr_binding(o, &pb) == 1;
	d->pcrs.bank = pb.bank;
	d->pcrs.mask = pb.mask;
	if (d->sealed && (sk_pcr_composite(pb.bank, pb.mask, (const uint8_t(*)[SK_PCR_MAX_DIGEST])pb.vals, comp) != SK_OK ||
			  sk_policy_pcr(d->policy, pb.bank, pb.mask, comp) != SK_OK))
		d->sealed = 0;
	memcpy(d->file, o->file, sizeof(d->file));
}

int sk_data_info(struct sk_ctx *ctx, const char *name, struct sk_data_info *out)
{
	struct sk_store *st;
	struct sk_obj_info o;
	int rc;

	if ((rc = check_name(name)) != SK_OK)
		return rc;
	if ((rc = sk_ctx_store(ctx, 0, &st)) != SK_OK)
		return rc;
	if ((rc = sk_store_stat(st, SK_NS_DATA, name, &o)) != SK_OK)
		return rc;
	fill_info(&o, out);
	sk_obj_info_free(&o);
	return SK_OK;
}

struct list_arg {
	sk_data_list_fn fn;
	void *arg;
};

static int list_one(const struct sk_obj_info *o, void *arg)
{
	struct list_arg *l = arg;
	struct sk_data_info d;

	fill_info(o, &d);
	return l->fn(&d, l->arg);
}

int sk_data_list(struct sk_ctx *ctx, sk_data_list_fn fn, void *arg)
{
	struct list_arg l = { fn, arg };
	struct sk_store *st;
	int rc = sk_ctx_store(ctx, 0, &st);

	return rc ? rc : sk_store_list(st, SK_NS_DATA, list_one, &l);
}

int sk_data_delete(struct sk_ctx *ctx, const char *name, const char *pass_spec, int force)
{
	struct sk_store *st;
	struct sk_txn *t = NULL;
	struct sk_secret s = { 0 };
	uint8_t seen[16];
	int rc, exists = 0;

	if ((rc = check_name(name)) != SK_OK)
		return rc;
	if ((rc = sk_ctx_store(ctx, 0, &st)) != SK_OK)
		return rc;
	if ((rc = sk_txn_begin(st, &t)) != SK_OK)
		return rc;
	rc = authorize(st, name, pass_spec, &s, &exists, seen);
	if (rc == SK_EVERIFY && force) {
		sk_warn("object '%s' failed verification; removing it as asked", name);
		exists = 1;
		rc = SK_OK;
	} else if (rc == SK_EVERIFY) {
		sk_err_remedy(rc, SK_REMEDY_FORCE);
	}
	if (rc != SK_OK)
		goto out;
	if (!exists) {
		rc = sk_err(SK_ENOTFOUND, "object '%s': not found", name);
		goto out;
	}
	if ((rc = sk_txn_del(t, SK_NS_DATA, name)) != SK_OK)
		goto out;
	rc = sk_txn_commit(t);
	t = NULL;
out:
	sk_txn_abort(t);
	sk_secret_free(&s);
	return rc;
}
