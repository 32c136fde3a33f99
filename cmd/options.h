/* SPDX-License-Identifier: MIT */
/*
 * Every option the program knows, once: its identifier OPT_<ident>, long
 * name, short letter (0: none), value and metavar.  A verb's table lists
 * the identifiers it takes with its own help text (cmd/opt.h, struct
 * sk_verbopt), so that --in is spelt, completed and shown the same way
 * everywhere and a misspelt OPT_ident does not compile.  The value is
 * checked once, before the verb runs:
 *
 *   SK_FLAG(ident, "name", short)                      no value; a count
 *   SK_STR(ident, "name", short, "METAVAR", complete)   any string
 *   SK_STRC(ident, "name", short, "METAVAR", "a b")     a string completed
 *       from the words; the library checks it, as it checks the same value
 *       from the config (aliases, any case: --cipher, --backend)
 *   SK_CHOICE(ident, "name", short, "METAVAR", "what", "a b")  one of the
 *       words ("unknown what 'x' (expected one of: a, b)")
 *   SK_UINT(ident, "name", short, "METAVAR", min, max) a decimal number
 *   SK_SECRET(ident, "name", short)                    a secret SPEC
 *       (src/ctx/secret.h), completed to its forms pass: env: file: ...
 *   SK_TIME(ident, "name", short)                      a TIME (util.h)
 *   SK_DIGEST(ident, "name", short)                    a digest, under the
 *       policy of the use the verb gives it (src/crypto/crypto.h, enum sk_md_use)
 *
 * One long name may have two identifiers when it means two things (--key
 * is a store key's NAME in most verbs, the FILE to send in opaque-key
 * make); one verb never takes both (tests/05-docs.bats checks).
 * Keep the list sorted by long name; this file is included several times.
 */
#ifndef SK_OPTION
#error "define SK_OPTION(ident, name, short, type, metavar, complete, choices, what, min, max)"
#endif
#define SK_FLAG(id, n, s) SK_OPTION(id, n, s, SK_T_FLAG, NULL, SK_C_NONE, NULL, NULL, 0, 0)
#define SK_STR(id, n, s, m, c) SK_OPTION(id, n, s, SK_T_STR, m, c, NULL, NULL, 0, 0)
#define SK_STRC(id, n, s, m, ch) SK_OPTION(id, n, s, SK_T_STR, m, SK_C_CHOICE, ch, NULL, 0, 0)
#define SK_CHOICE(id, n, s, m, w, ch) SK_OPTION(id, n, s, SK_T_CHOICE, m, SK_C_CHOICE, ch, w, 0, 0)
#define SK_UINT(id, n, s, m, lo, hi) SK_OPTION(id, n, s, SK_T_UINT, m, SK_C_NONE, NULL, NULL, lo, hi)
#define SK_SECRET(id, n, s) SK_OPTION(id, n, s, SK_T_STR, "SPEC", SK_C_SECRET, SK_SECRET_FORMS, NULL, 0, 0)
#define SK_TIME(id, n, s) SK_OPTION(id, n, s, SK_T_TIME, "TIME", SK_C_NONE, NULL, NULL, 0, 0)
#define SK_DIGEST(id, n, s) SK_OPTION(id, n, s, SK_T_DIGEST, "ALG", SK_C_CHOICE, NULL, NULL, 0, 0)

SK_DIGEST(alg, "alg", 'a')
SK_STR(alpn, "alpn", 0, "LIST", SK_C_NONE)
SK_TIME(at, "at", 0)
SK_STRC(backend, "backend", 0, "NAME", SK_BACKEND_NAMES)
SK_STRC(bank, "bank", 0, "BANK", SK_BANK_NAMES)
SK_FLAG(ca, "ca", 0)
SK_STR(ca_file, "ca", 0, "FILE", SK_C_FILE)
SK_STR(ca_cert, "ca-cert", 0, "FILE", SK_C_FILE)
SK_STR(ca_key, "ca-key", 0, "FILE", SK_C_FILE)
SK_SECRET(ca_pass, "ca-pass", 0)
SK_STR(cert, "cert", 0, "FILE", SK_C_FILE)
SK_STR(cert_arg, "cert", 0, "NAME|FILE", SK_C_FILE)
SK_STR(chain, "chain", 'c', "FILE", SK_C_FILE)
SK_STR(check, "check", 0, "FILE", SK_C_FILE)
SK_STRC(cipher, "cipher", 0, "C", SK_ECIES_CIPHERS)
SK_CHOICE(command, "command", 'c', "CMD", "STP command", SK_STP_COMMANDS)
SK_STR(config, "config", 0, "FILE", SK_C_FILE)
SK_STR(connect, "connect", 0, "HOST:PORT", SK_C_NONE)
SK_STR(csr, "csr", 0, "FILE", SK_C_FILE)
SK_FLAG(csr_only, "csr", 0)
SK_UINT(days, "days", 0, "N", 1, 36525)
SK_STR(description, "description", 0, "TEXT", SK_C_NONE)
SK_STR(device, "device", 0, "PUB|ID", SK_C_FILE)
SK_STR(device_key, "device-key", 0, "NAME", SK_C_KEY)
SK_SECRET(device_pass, "device-pass", 0)
SK_STR(device_pub, "device-pub", 0, "FILE", SK_C_FILE)
SK_STR(devices, "devices", 0, "FLEET", SK_C_FILE)
SK_DIGEST(digest, "digest", 'd')
SK_STR(digest_hex, "digest", 0, "HEX", SK_C_NONE)
SK_FLAG(dry_run, "dry-run", 'n')
SK_FLAG(dump_spec, "dump-spec", 0)
SK_FLAG(exportable, "exportable", 0)
SK_FLAG(force, "force", 'f')
SK_CHOICE(format, "format", 'f', "FMT", "format", "pem der")
SK_STR(from, "from", 0, "FILE", SK_C_FILE)
SK_FLAG(generate, "generate", 0)
SK_STR(golden, "golden", 0, "FILE", SK_C_FILE)
SK_FLAG(help, "help", 'h')
SK_STR(id, "id", 0, "FILE", SK_C_FILE)
SK_STR(in, "in", 'i', "FILE", SK_C_FILE)
SK_SECRET(in_pass, "in-pass", 0)
SK_STR(index, "index", 0, "HEX", SK_C_NONE)
SK_STR(info, "info", 0, "FILE", SK_C_FILE)
SK_FLAG(insecure, "insecure", 0)
SK_STR(issuer_cert, "issuer-cert", 0, "FILE", SK_C_FILE)
SK_STR(issuer_key, "issuer-key", 0, "FILE", SK_C_FILE)
SK_STR(issuer_key_name, "issuer-key-name", 0, "NAME", SK_C_KEY)
SK_SECRET(issuer_pass, "issuer-pass", 0)
SK_UINT(jobs, "jobs", 'j', "N", 1, 1024)
SK_FLAG(json, "json", 0)
SK_STRC(kdf, "kdf", 0, "K", SK_ECIES_KDFS)
SK_FLAG(keep_going, "keep-going", 'k')
SK_STR(key, "key", 'k', "NAME", SK_C_KEY)
SK_STR(key_file, "key", 0, "FILE", SK_C_FILE)
SK_STR(key_name, "key", 0, "NAME", SK_C_KEY)
SK_SECRET(key_pass, "key-pass", 0)
SK_STR(key_in, "key-file", 0, "FILE", SK_C_FILE)
SK_STR(listen, "listen", 0, "ADDR:PORT", SK_C_NONE)
SK_STRC(mac, "mac", 0, "M", SK_ECIES_MACS)
SK_STR(manifest, "manifest", 0, "FILE", SK_C_FILE)
SK_CHOICE(mode, "mode", 'm', "MODE", "mode", "gcm cbc ctr oaep")
SK_STR(name, "name", 'n', "NAME", SK_C_NONE)
SK_FLAG(names, "names", 0)
SK_STR(new_key, "new-key", 0, "FILE", SK_C_FILE)
SK_FLAG(no_encrypt, "no-encrypt", 0)
SK_TIME(not_after, "not-after", 0)
SK_TIME(not_before, "not-before", 0)
SK_STRC(oo_cipher, "cipher", 0, "C", "aes-256-ctr aes-256-gcm")
SK_STR(out, "out", 'o', "FILE", SK_C_FILE)
SK_STR(out_archive, "out-archive", 0, "FILE", SK_C_FILE)
SK_STR(out_dir, "out-dir", 0, "DIR", SK_C_DIR)
SK_SECRET(out_pass, "out-pass", 0)
SK_SECRET(pass, "pass", 0)
SK_STR(password_object, "password-object", 0, "OBJ", SK_C_PWOBJ)
SK_STR(pcr, "pcr", 0, "N", SK_C_NONE)
SK_SECRET(pin, "pin", 0)
SK_STR(policy, "policy", 0, "FILE", SK_C_FILE)
SK_STR(pkcs11_module, "pkcs11-module", 0, "PATH", SK_C_FILE)
SK_UINT(path_len, "path-len", 0, "N", 0, 255)
SK_STR(peer, "peer", 0, "FILE", SK_C_FILE)
SK_FLAG(private, "private", 0)
SK_CHOICE(profile, "profile", 0, "P", "profile", SK_PROFILES)
SK_FLAG(provisioned, "provisioned", 0)
SK_FLAG(pss, "pss", 0)
SK_STR(pubkey, "pubkey", 0, "FILE", SK_C_FILE)
SK_CHOICE(purpose, "purpose", 0, "P", "purpose", SK_PURPOSES)
SK_FLAG(quiet, "quiet", 'q')
SK_FLAG(repair, "repair", 0)
SK_FLAG(resume, "resume", 0)
SK_FLAG(revoked, "revoked", 0)
SK_STR(san, "san", 0, "LIST", SK_C_NONE)
SK_UINT(seq, "seq", 0, "N", 1, SK_STP_SEQ_MAX)
SK_STR(serial, "serial", 0, "HEX", SK_C_NONE)
SK_STR(servername, "servername", 0, "NAME", SK_C_NONE)
SK_STR(shard, "shard", 0, "K/N", SK_C_NONE)
SK_STR(sig, "sig", 0, "FILE", SK_C_FILE)
SK_STR(sign_key, "sign-key", 0, "FILE", SK_C_FILE)
SK_SECRET(sign_pass, "sign-pass", 0)
SK_STR(store, "store", 0, "DIR", SK_C_DIR)
SK_STR(subject, "subject", 's', "DN", SK_C_NONE)
SK_STR(tcti, "tcti", 0, "TCTI", SK_C_NONE)
SK_STR(token, "token", 0, "TOKEN", SK_C_NONE)
SK_TIME(time, "time", 0)
SK_UINT(timeout, "timeout", 0, "S", 1, 86400)
SK_STR(tpm2_pcrs, "tpm2-pcrs", 0, "LIST", SK_C_NONE)
SK_STR(tpm2_policy_key, "tpm2-policy-key", 0, "FILE", SK_C_FILE)
SK_CHOICE(type, "type", 't', "TYPE", "key type", SK_KEYTYPE_NAMES)
SK_FLAG(verbose, "verbose", 'v')
SK_FLAG(verify, "verify", 0)
SK_STR(verify_key, "verify-key", 0, "NAME", SK_C_KEY)
SK_FLAG(version, "version", 0)

#undef SK_FLAG
#undef SK_STR
#undef SK_STRC
#undef SK_CHOICE
#undef SK_UINT
#undef SK_SECRET
#undef SK_TIME
#undef SK_DIGEST
