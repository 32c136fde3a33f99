/* SPDX-License-Identifier: MIT */
/* The fields of a certificate as `seckit cert show` prints them. */
#include "trust/x509.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/objects.h>
#include <openssl/x509v3.h>

#include "base/err.h"
#include "crypto/keytype.h"

/* keyUsage bits in the order of RFC 5280, 4.2.1.3. */
static const struct { int bit; const char *name; } ku_names[] = {
	{ KU_DIGITAL_SIGNATURE, "digital_signature" },
	{ KU_NON_REPUDIATION, "non_repudiation" },
	{ KU_KEY_ENCIPHERMENT, "key_encipherment" },
	{ KU_DATA_ENCIPHERMENT, "data_encipherment" },
	{ KU_KEY_AGREEMENT, "key_agreement" },
	{ KU_KEY_CERT_SIGN, "key_cert_sign" },
	{ KU_CRL_SIGN, "crl_sign" },
	{ KU_ENCIPHER_ONLY, "encipher_only" },
	{ KU_DECIPHER_ONLY, "decipher_only" },
};

static const struct { int nid; const char *name; } eku_names[] = {
	{ NID_server_auth, "server_auth" },
	{ NID_client_auth, "client_auth" },
	{ NID_code_sign, "code_signing" },
	{ NID_email_protect, "email_protection" },
	{ NID_time_stamp, "time_stamping" },
	{ NID_OCSP_sign, "ocsp_signing" },
	{ NID_anyExtendedKeyUsage, "any" },
};

/* A growing NULL-terminated list of strings. */
struct list {
	char **v;
	size_t n;
};

static int push(struct list *l, const char *s)
{
	char **v = realloc(l->v, (l->n + 2) * sizeof(*v));

	if (v == NULL)
		return sk_err(SK_EFAIL, "out of memory");
	l->v = v;
	if ((v[l->n] = strdup(s)) == NULL)
		return sk_err(SK_EFAIL, "out of memory");
	v[++l->n] = NULL;
	return SK_OK;
}

static void list_free(char **v)
{
	size_t i;

	for (i = 0; v != NULL && v[i] != NULL; i++)
		free(v[i]);
	free(v);
}

static void hex_colon(const ASN1_OCTET_STRING *o, char *buf, size_t len)
{
	const unsigned char *p = ASN1_STRING_get0_data(o);
	int i, n = ASN1_STRING_length(o);
	size_t used = 0;

	buf[0] = '\0';
	for (i = 0; i < n && used + 4 <= len; i++)
		used += (size_t)snprintf(buf + used, len - used, "%s%02X", i ? ":" : "", p[i]);
}

/* One subjectAltName entry as "TYPE:value". */
static int san_entry(const GENERAL_NAME *g, struct list *l)
{
	char buf[600], ip[INET6_ADDRSTRLEN];
	const ASN1_STRING *s = NULL;
	const char *tag = NULL;
	int len;

	switch (g->type) {
	case GEN_DNS: tag = "DNS"; s = g->d.dNSName; break;
	case GEN_EMAIL: tag = "email"; s = g->d.rfc822Name; break;
	case GEN_URI: tag = "URI"; s = g->d.uniformResourceIdentifier; break;
	case GEN_IPADD:
		len = ASN1_STRING_length(g->d.iPAddress);
		if ((len != 4 && len != 16) ||
		    inet_ntop(len == 4 ? AF_INET : AF_INET6, ASN1_STRING_get0_data(g->d.iPAddress), ip,
			      sizeof(ip)) == NULL)
			return push(l, "IP:<invalid>");
		snprintf(buf, sizeof(buf), "IP:%s", ip);
		return push(l, buf);
	case GEN_DIRNAME:
		memcpy(buf, "dirName:", 8);
		sk_x509_name_str(g->d.directoryName, buf + 8, sizeof(buf) - 8);
		return push(l, buf);
	case GEN_RID:
		memcpy(buf, "RID:", 4);
		OBJ_obj2txt(buf + 4, (int)sizeof(buf) - 4, g->d.registeredID, 1);
		return push(l, buf);
	default:
		return push(l, "othername:<unsupported>");
	}
	len = ASN1_STRING_length(s);
	/* IA5String: printable ASCII only, else it is shown escaped. */
	if (len < 0 || (size_t)len > sizeof(buf) - 16 || memchr(ASN1_STRING_get0_data(s), '\0', (size_t)len))
		snprintf(buf, sizeof(buf), "%s:<invalid>", tag);
	else
		snprintf(buf, sizeof(buf), "%s:%.*s", tag, len, (const char *)ASN1_STRING_get0_data(s));
	return push(l, buf);
}

static int get_san(X509 *x, struct list *l)
{
	GENERAL_NAMES *gens = X509_get_ext_d2i(x, NID_subject_alt_name, NULL, NULL);
	int i, rc = SK_OK;

	for (i = 0; rc == SK_OK && i < sk_GENERAL_NAME_num(gens); i++)
		rc = san_entry(sk_GENERAL_NAME_value(gens, i), l);
	GENERAL_NAMES_free(gens);
	return rc;
}

static int get_eku(X509 *x, struct list *l)
{
	EXTENDED_KEY_USAGE *eku = X509_get_ext_d2i(x, NID_ext_key_usage, NULL, NULL);
	char oid[128];
	int i, rc = SK_OK;
	size_t k;

	for (i = 0; rc == SK_OK && i < sk_ASN1_OBJECT_num(eku); i++) {
		ASN1_OBJECT *o = sk_ASN1_OBJECT_value(eku, i);
		int nid = OBJ_obj2nid(o);

		for (k = 0; k < SK_ARRAY_SIZE(eku_names); k++)
			if (eku_names[k].nid == nid)
				break;
		if (k < SK_ARRAY_SIZE(eku_names)) {
			rc = push(l, eku_names[k].name);
		} else {
			OBJ_obj2txt(oid, sizeof(oid), o, 1);
			rc = push(l, oid);
		}
	}
	sk_ASN1_OBJECT_pop_free(eku, ASN1_OBJECT_free);
	return rc;
}

static void key_of(X509 *x, struct sk_x509_info *i)
{
	EVP_PKEY *pk = X509_get0_pubkey(x);
	const struct sk_keytype *kt;

	snprintf(i->key_type, sizeof(i->key_type), "unknown");
	if (pk == NULL)
		return;
	i->key_bits = EVP_PKEY_get_bits(pk);
	if ((kt = sk_keytype_of_pkey(pk)) != NULL)
		snprintf(i->key_type, sizeof(i->key_type), "%s", kt->name);
	else if (EVP_PKEY_get0_type_name(pk) != NULL)
		snprintf(i->key_type, sizeof(i->key_type), "%s", EVP_PKEY_get0_type_name(pk));
	sk_err_clear();
}

int sk_x509_info(X509 *x, struct sk_x509_info *i)
{
	struct list san = { NULL, 0 }, ku = { NULL, 0 }, eku = { NULL, 0 };
	const ASN1_OCTET_STRING *ski, *aki;
	uint32_t usage;
	size_t k;
	int rc = SK_OK;

	memset(i, 0, sizeof(*i));
	/* Decodes the extensions; a certificate whose extensions do not
	 * decode still shows (OpenSSL marks it invalid, verify refuses it). */
	X509_check_purpose(x, -1, 0);
	sk_x509_name_str(X509_get_subject_name(x), i->subject, sizeof(i->subject));
	sk_x509_name_str(X509_get_issuer_name(x), i->issuer, sizeof(i->issuer));
	sk_x509_serial_str(X509_get0_serialNumber(x), i->serial, sizeof(i->serial));
	if (sk_x509_fingerprint(x, i->fingerprint) != SK_OK ||
	    sk_asn1_time_epoch(X509_get0_notBefore(x), &i->not_before) != SK_OK ||
	    sk_asn1_time_epoch(X509_get0_notAfter(x), &i->not_after) != SK_OK)
		return SK_EVERIFY;
	key_of(x, i);
	snprintf(i->sig_alg, sizeof(i->sig_alg), "%s", OBJ_nid2ln(X509_get_signature_nid(x)));
	i->is_ca = (X509_get_extension_flags(x) & EXFLAG_CA) != 0;
	i->path_len = i->is_ca ? X509_get_pathlen(x) : -1;
	i->self_signed = (X509_get_extension_flags(x) & EXFLAG_SS) != 0;
	if ((ski = X509_get0_subject_key_id(x)) != NULL)
		hex_colon(ski, i->ski, sizeof(i->ski));
	if ((aki = X509_get0_authority_key_id(x)) != NULL)
		hex_colon(aki, i->aki, sizeof(i->aki));
	usage = X509_get_key_usage(x);
	if (usage != UINT32_MAX)
		for (k = 0; rc == SK_OK && k < SK_ARRAY_SIZE(ku_names); k++)
			if (usage & (uint32_t)ku_names[k].bit)
				rc = push(&ku, ku_names[k].name);
	if (rc == SK_OK)
		rc = get_san(x, &san);
	if (rc == SK_OK)
		rc = get_eku(x, &eku);
	ERR_clear_error();
	/* Empty lists are lists: callers print [] without a NULL check. */
	if (rc == SK_OK && ((san.v == NULL && (san.v = calloc(1, sizeof(char *))) == NULL) ||
			    (ku.v == NULL && (ku.v = calloc(1, sizeof(char *))) == NULL) ||
			    (eku.v == NULL && (eku.v = calloc(1, sizeof(char *))) == NULL)))
		rc = sk_err(SK_EFAIL, "out of memory");
	i->san = san.v;
	i->key_usage = ku.v;
	i->ext_key_usage = eku.v;
	if (rc != SK_OK)
		sk_x509_info_free(i);
	return rc;
}

void sk_x509_info_free(struct sk_x509_info *i)
{
	list_free(i->san);
	list_free(i->key_usage);
	list_free(i->ext_key_usage);
	i->san = i->key_usage = i->ext_key_usage = NULL;
}
