/* SPDX-License-Identifier: MIT */
/*
 * p11count: a PKCS#11 module that sits in front of another one, for the
 * pkcs11 tests (tests/80-pkcs11-*.bats) and bench/pkcs11.bench.sh.  It
 * forwards every call of the PKCS#11 2.40 function list to the real module
 * and, as the environment asks:
 *   P11COUNT_MODULE  the real module (required), dlopen'ed at the first
 *                    C_GetFunctionList
 *   P11COUNT_LOG     append one line per call: "NAME RV" (RV in hex, the
 *                    value the caller got), to count the calls of a run
 *   P11COUNT_FAIL    calls that fail instead of reaching the module:
 *                    "C_Sign=CKR_DEVICE_REMOVED,C_Login=0xa4" (a name of
 *                    the table below or a number); "NAME@N=RV" fails only
 *                    the N-th call of NAME (1-based) and the ones after it
 *                    (a token that stays gone)
 *   P11COUNT_TOKEN_FLAGS flags ORed into what C_GetTokenInfo says, names
 *                    (CKF_USER_PIN_COUNT_LOW, CKF_USER_PIN_FINAL_TRY,
 *                    CKF_USER_PIN_LOCKED) or a number, '|'-separated
 * A fault module, not a product: it is built for the tests only.
 */
#define CRYPTOKI_GNU 1
#include <dlfcn.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <p11-kit/pkcs11.h>

/* The functions of struct ck_function_list, in its order:
 * F(name, (parameters), (arguments)). */
#define P11_FUNCTIONS \
F(C_Initialize, (void *init_args), (init_args)) \
F(C_Finalize, (void *reserved), (reserved)) \
F(C_GetInfo, (struct ck_info *info), (info)) \
F(C_GetFunctionList, (struct ck_function_list **function_list), (function_list)) \
F(C_GetSlotList, (unsigned char token_present, ck_slot_id_t *slot_list, unsigned long *count), (token_present, slot_list, count)) \
F(C_GetSlotInfo, (ck_slot_id_t slot_id, struct ck_slot_info *info), (slot_id, info)) \
F(C_GetTokenInfo, (ck_slot_id_t slot_id, struct ck_token_info *info), (slot_id, info)) \
F(C_GetMechanismList, (ck_slot_id_t slot_id, ck_mechanism_type_t *mechanism_list, unsigned long *count), (slot_id, mechanism_list, count)) \
F(C_GetMechanismInfo, (ck_slot_id_t slot_id, ck_mechanism_type_t type, struct ck_mechanism_info *info), (slot_id, type, info)) \
F(C_InitToken, (ck_slot_id_t slot_id, unsigned char *pin, unsigned long pin_len, unsigned char *label), (slot_id, pin, pin_len, label)) \
F(C_InitPIN, (ck_session_handle_t session, unsigned char *pin, unsigned long pin_len), (session, pin, pin_len)) \
F(C_SetPIN, (ck_session_handle_t session, unsigned char *old_pin, unsigned long old_len, unsigned char *new_pin, unsigned long new_len), (session, old_pin, old_len, new_pin, new_len)) \
F(C_OpenSession, (ck_slot_id_t slot_id, ck_flags_t flags, void *application, ck_notify_t notify, ck_session_handle_t *session), (slot_id, flags, application, notify, session)) \
F(C_CloseSession, (ck_session_handle_t session), (session)) \
F(C_CloseAllSessions, (ck_slot_id_t slot_id), (slot_id)) \
F(C_GetSessionInfo, (ck_session_handle_t session, struct ck_session_info *info), (session, info)) \
F(C_GetOperationState, (ck_session_handle_t session, unsigned char *operation_state, unsigned long *operation_state_len), (session, operation_state, operation_state_len)) \
F(C_SetOperationState, (ck_session_handle_t session, unsigned char *operation_state, unsigned long operation_state_len, ck_object_handle_t encryption_key, ck_object_handle_t authentiation_key), (session, operation_state, operation_state_len, encryption_key, authentiation_key)) \
F(C_Login, (ck_session_handle_t session, ck_user_type_t user_type, unsigned char *pin, unsigned long pin_len), (session, user_type, pin, pin_len)) \
F(C_Logout, (ck_session_handle_t session), (session)) \
F(C_CreateObject, (ck_session_handle_t session, struct ck_attribute *templ, unsigned long count, ck_object_handle_t *object), (session, templ, count, object)) \
F(C_CopyObject, (ck_session_handle_t session, ck_object_handle_t object, struct ck_attribute *templ, unsigned long count, ck_object_handle_t *new_object), (session, object, templ, count, new_object)) \
F(C_DestroyObject, (ck_session_handle_t session, ck_object_handle_t object), (session, object)) \
F(C_GetObjectSize, (ck_session_handle_t session, ck_object_handle_t object, unsigned long *size), (session, object, size)) \
F(C_GetAttributeValue, (ck_session_handle_t session, ck_object_handle_t object, struct ck_attribute *templ, unsigned long count), (session, object, templ, count)) \
F(C_SetAttributeValue, (ck_session_handle_t session, ck_object_handle_t object, struct ck_attribute *templ, unsigned long count), (session, object, templ, count)) \
F(C_FindObjectsInit, (ck_session_handle_t session, struct ck_attribute *templ, unsigned long count), (session, templ, count)) \
F(C_FindObjects, (ck_session_handle_t session, ck_object_handle_t *object, unsigned long max_object_count, unsigned long *object_count), (session, object, max_object_count, object_count)) \
F(C_FindObjectsFinal, (ck_session_handle_t session), (session)) \
F(C_EncryptInit, (ck_session_handle_t session, struct ck_mechanism *mechanism, ck_object_handle_t key), (session, mechanism, key)) \
F(C_Encrypt, (ck_session_handle_t session, unsigned char *data, unsigned long data_len, unsigned char *encrypted_data, unsigned long *encrypted_data_len), (session, data, data_len, encrypted_data, encrypted_data_len)) \
F(C_EncryptUpdate, (ck_session_handle_t session, unsigned char *part, unsigned long part_len, unsigned char *encrypted_part, unsigned long *encrypted_part_len), (session, part, part_len, encrypted_part, encrypted_part_len)) \
F(C_EncryptFinal, (ck_session_handle_t session, unsigned char *last_encrypted_part, unsigned long *last_encrypted_part_len), (session, last_encrypted_part, last_encrypted_part_len)) \
F(C_DecryptInit, (ck_session_handle_t session, struct ck_mechanism *mechanism, ck_object_handle_t key), (session, mechanism, key)) \
F(C_Decrypt, (ck_session_handle_t session, unsigned char *encrypted_data, unsigned long encrypted_data_len, unsigned char *data, unsigned long *data_len), (session, encrypted_data, encrypted_data_len, data, data_len)) \
F(C_DecryptUpdate, (ck_session_handle_t session, unsigned char *encrypted_part, unsigned long encrypted_part_len, unsigned char *part, unsigned long *part_len), (session, encrypted_part, encrypted_part_len, part, part_len)) \
F(C_DecryptFinal, (ck_session_handle_t session, unsigned char *last_part, unsigned long *last_part_len), (session, last_part, last_part_len)) \
F(C_DigestInit, (ck_session_handle_t session, struct ck_mechanism *mechanism), (session, mechanism)) \
F(C_Digest, (ck_session_handle_t session, unsigned char *data, unsigned long data_len, unsigned char *digest, unsigned long *digest_len), (session, data, data_len, digest, digest_len)) \
F(C_DigestUpdate, (ck_session_handle_t session, unsigned char *part, unsigned long part_len), (session, part, part_len)) \
F(C_DigestKey, (ck_session_handle_t session, ck_object_handle_t key), (session, key)) \
F(C_DigestFinal, (ck_session_handle_t session, unsigned char *digest, unsigned long *digest_len), (session, digest, digest_len)) \
F(C_SignInit, (ck_session_handle_t session, struct ck_mechanism *mechanism, ck_object_handle_t key), (session, mechanism, key)) \
F(C_Sign, (ck_session_handle_t session, unsigned char *data, unsigned long data_len, unsigned char *signature, unsigned long *signature_len), (session, data, data_len, signature, signature_len)) \
F(C_SignUpdate, (ck_session_handle_t session, unsigned char *part, unsigned long part_len), (session, part, part_len)) \
F(C_SignFinal, (ck_session_handle_t session, unsigned char *signature, unsigned long *signature_len), (session, signature, signature_len)) \
F(C_SignRecoverInit, (ck_session_handle_t session, struct ck_mechanism *mechanism, ck_object_handle_t key), (session, mechanism, key)) \
F(C_SignRecover, (ck_session_handle_t session, unsigned char *data, unsigned long data_len, unsigned char *signature, unsigned long *signature_len), (session, data, data_len, signature, signature_len)) \
F(C_VerifyInit, (ck_session_handle_t session, struct ck_mechanism *mechanism, ck_object_handle_t key), (session, mechanism, key)) \
F(C_Verify, (ck_session_handle_t session, unsigned char *data, unsigned long data_len, unsigned char *signature, unsigned long signature_len), (session, data, data_len, signature, signature_len)) \
F(C_VerifyUpdate, (ck_session_handle_t session, unsigned char *part, unsigned long part_len), (session, part, part_len)) \
F(C_VerifyFinal, (ck_session_handle_t session, unsigned char *signature, unsigned long signature_len), (session, signature, signature_len)) \
F(C_VerifyRecoverInit, (ck_session_handle_t session, struct ck_mechanism *mechanism, ck_object_handle_t key), (session, mechanism, key)) \
F(C_VerifyRecover, (ck_session_handle_t session, unsigned char *signature, unsigned long signature_len, unsigned char *data, unsigned long *data_len), (session, signature, signature_len, data, data_len)) \
F(C_DigestEncryptUpdate, (ck_session_handle_t session, unsigned char *part, unsigned long part_len, unsigned char *encrypted_part, unsigned long *encrypted_part_len), (session, part, part_len, encrypted_part, encrypted_part_len)) \
F(C_DecryptDigestUpdate, (ck_session_handle_t session, unsigned char *encrypted_part, unsigned long encrypted_part_len, unsigned char *part, unsigned long *part_len), (session, encrypted_part, encrypted_part_len, part, part_len)) \
F(C_SignEncryptUpdate, (ck_session_handle_t session, unsigned char *part, unsigned long part_len, unsigned char *encrypted_part, unsigned long *encrypted_part_len), (session, part, part_len, encrypted_part, encrypted_part_len)) \
F(C_DecryptVerifyUpdate, (ck_session_handle_t session, unsigned char *encrypted_part, unsigned long encrypted_part_len, unsigned char *part, unsigned long *part_len), (session, encrypted_part, encrypted_part_len, part, part_len)) \
F(C_GenerateKey, (ck_session_handle_t session, struct ck_mechanism *mechanism, struct ck_attribute *templ, unsigned long count, ck_object_handle_t *key), (session, mechanism, templ, count, key)) \
F(C_GenerateKeyPair, (ck_session_handle_t session, struct ck_mechanism *mechanism, struct ck_attribute *public_key_template, unsigned long public_key_attribute_count, struct ck_attribute *private_key_template, unsigned long private_key_attribute_count, ck_object_handle_t *public_key, ck_object_handle_t *private_key), (session, mechanism, public_key_template, public_key_attribute_count, private_key_template, private_key_attribute_count, public_key, private_key)) \
F(C_WrapKey, (ck_session_handle_t session, struct ck_mechanism *mechanism, ck_object_handle_t wrapping_key, ck_object_handle_t key, unsigned char *wrapped_key, unsigned long *wrapped_key_len), (session, mechanism, wrapping_key, key, wrapped_key, wrapped_key_len)) \
F(C_UnwrapKey, (ck_session_handle_t session, struct ck_mechanism *mechanism, ck_object_handle_t unwrapping_key, unsigned char *wrapped_key, unsigned long wrapped_key_len, struct ck_attribute *templ, unsigned long attribute_count, ck_object_handle_t *key), (session, mechanism, unwrapping_key, wrapped_key, wrapped_key_len, templ, attribute_count, key)) \
F(C_DeriveKey, (ck_session_handle_t session, struct ck_mechanism *mechanism, ck_object_handle_t base_key, struct ck_attribute *templ, unsigned long attribute_count, ck_object_handle_t *key), (session, mechanism, base_key, templ, attribute_count, key)) \
F(C_SeedRandom, (ck_session_handle_t session, unsigned char *seed, unsigned long seed_len), (session, seed, seed_len)) \
F(C_GenerateRandom, (ck_session_handle_t session, unsigned char *random_data, unsigned long random_len), (session, random_data, random_len)) \
F(C_GetFunctionStatus, (ck_session_handle_t session), (session)) \
F(C_CancelFunction, (ck_session_handle_t session), (session)) \
F(C_WaitForSlotEvent, (ck_flags_t flags, ck_slot_id_t *slot, void *reserved), (flags, slot, reserved))

#define MAX_FAULTS 16

static struct ck_function_list *real;
static struct ck_function_list ours;
static void *dl;
static int log_fd = -1;
static unsigned long add_flags;
static struct fault {
	char name[40];
	unsigned long at;          /* 0: every call */
	ck_rv_t rv;
} faults[MAX_FAULTS];
static size_t nfaults;
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;

static const struct {
	const char *name;
	unsigned long v;
} names[] = {
	{ "CKR_GENERAL_ERROR", CKR_GENERAL_ERROR },
	{ "CKR_FUNCTION_FAILED", CKR_FUNCTION_FAILED },
	{ "CKR_DEVICE_ERROR", CKR_DEVICE_ERROR },
	{ "CKR_DEVICE_REMOVED", CKR_DEVICE_REMOVED },
	{ "CKR_TOKEN_NOT_PRESENT", CKR_TOKEN_NOT_PRESENT },
	{ "CKR_SESSION_HANDLE_INVALID", CKR_SESSION_HANDLE_INVALID },
	{ "CKR_SESSION_CLOSED", CKR_SESSION_CLOSED },
	{ "CKR_PIN_INCORRECT", CKR_PIN_INCORRECT },
	{ "CKR_PIN_LOCKED", CKR_PIN_LOCKED },
	{ "CKR_MECHANISM_INVALID", CKR_MECHANISM_INVALID },
	{ "CKR_FUNCTION_NOT_SUPPORTED", CKR_FUNCTION_NOT_SUPPORTED },
	{ "CKF_USER_PIN_COUNT_LOW", CKF_USER_PIN_COUNT_LOW },
	{ "CKF_USER_PIN_FINAL_TRY", CKF_USER_PIN_FINAL_TRY },
	{ "CKF_USER_PIN_LOCKED", CKF_USER_PIN_LOCKED },
};

static unsigned long value_of(const char *s, size_t n)
{
	size_t i;

	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (strlen(names[i].name) == n && strncmp(names[i].name, s, n) == 0)
			return names[i].v;
	return strtoul(s, NULL, 0);
}

static void parse_env(void)
{
	const char *s = getenv("P11COUNT_FAIL"), *f = getenv("P11COUNT_TOKEN_FLAGS"), *l;

	while (s != NULL && *s != '\0' && nfaults < MAX_FAULTS) {
		const char *end = strchr(s, ','), *eq = strchr(s, '='), *at;
		struct fault *ft = &faults[nfaults];
		size_t n;

		if (end == NULL)
			end = s + strlen(s);
		if (eq == NULL || eq > end)
			break;
		at = memchr(s, '@', (size_t)(eq - s));
		n = (size_t)((at ? at : eq) - s);
		if (n >= sizeof(ft->name))
			break;
		memcpy(ft->name, s, n);
		ft->name[n] = '\0';
		ft->at = at ? strtoul(at + 1, NULL, 10) : 0;
		ft->rv = value_of(eq + 1, (size_t)(end - eq - 1));
		nfaults++;
		s = *end ? end + 1 : end;
	}
	while (f != NULL && *f != '\0') {
		const char *end = strchr(f, '|');

		if (end == NULL)
			end = f + strlen(f);
		add_flags |= value_of(f, (size_t)(end - f));
		f = *end ? end + 1 : end;
	}
	if ((l = getenv("P11COUNT_LOG")) != NULL && *l != '\0')
		log_fd = open(l, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
}

/* Before a call: the fault it gets, if any (1 and *rv set). */
static int fault(const char *name, ck_rv_t *rv)
{
	static unsigned long calls[MAX_FAULTS];
	size_t i;
	int hit = 0;

	pthread_mutex_lock(&lock);
	for (i = 0; i < nfaults && !hit; i++)
		if (strcmp(faults[i].name, name) == 0 && ++calls[i] >= faults[i].at) {
			*rv = faults[i].rv;
			hit = 1;
		}
	pthread_mutex_unlock(&lock);
	return hit;
}

static void note(const char *name, ck_rv_t rv)
{
	char line[80];
	int n;

	if (log_fd < 0)
		return;
	n = snprintf(line, sizeof(line), "%s 0x%lx\n", name, (unsigned long)rv);
	if (n > 0 && write(log_fd, line, (size_t)n) != n)
		return;
}

#define F(name, params, args)                                                  \
	static ck_rv_t w_##name params                                          \
	{                                                                       \
		ck_rv_t rv;                                                     \
		if (!fault(#name, &rv))                                         \
			rv = real->name args;                                   \
		note(#name, rv);                                                \
		return rv;                                                      \
	}
P11_FUNCTIONS
#undef F

static ck_rv_t get_list(struct ck_function_list **list)
{
	ck_rv_t (*real_get)(struct ck_function_list **);
	const char *path = getenv("P11COUNT_MODULE");
	ck_rv_t rv;

	if (list == NULL)
		return CKR_ARGUMENTS_BAD;
	if (real == NULL) {
		if (path == NULL || (dl = dlopen(path, RTLD_NOW | RTLD_LOCAL)) == NULL) {
			fprintf(stderr, "p11count: cannot load P11COUNT_MODULE '%s': %s\n",
				path ? path : "(unset)", path ? dlerror() : "set it to the real module");
			return CKR_GENERAL_ERROR;
		}
		*(void **)&real_get = dlsym(dl, "C_GetFunctionList");
		if (real_get == NULL || (rv = real_get(&real)) != CKR_OK || real == NULL) {
			real = NULL;
			return CKR_GENERAL_ERROR;
		}
		parse_env();
		ours.version = real->version;
#define F(name, params, args) ours.name = w_##name;
		P11_FUNCTIONS
#undef F
	}
	*list = &ours;
	return CKR_OK;
}

/* The wrapper's own C_GetTokenInfo adds the flags asked for. */
static ck_rv_t token_info(ck_slot_id_t slot_id, struct ck_token_info *info)
{
	ck_rv_t rv = w_C_GetTokenInfo(slot_id, info);

	if (rv == CKR_OK)
		info->flags |= add_flags;
	return rv;
}

__attribute__((visibility("default"))) ck_rv_t C_GetFunctionList(struct ck_function_list **list)
{
	ck_rv_t rv = get_list(list);

	if (rv == CKR_OK) {
		ours.C_GetFunctionList = C_GetFunctionList;
		ours.C_GetTokenInfo = token_info;
	}
	return rv;
}
