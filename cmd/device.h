/* SPDX-License-Identifier: MIT */
#ifndef SK_CMD_DEVICE_H
#define SK_CMD_DEVICE_H

#include <stdint.h>

#include "ctx/ctx.h"
#include "json.h"
#include "opt.h"

/*
 * The device behind a backend (the TPM), reached without opening the
 * backend for keys: --version -v, key info's handle, key handles, key evict.
 */

/* --version (-v: and each device's properties), text or ctx->json. */
int sk_version(struct sk_ctx *ctx);
/* The persistent handle a key of backend `backend` uses (the configured
 * tpm2-parent), 0 if none. */
int sk_key_handle(struct sk_ctx *ctx, const char *backend, uint32_t *h);
/* key handles: list them (text or ctx->json). */
int sk_key_handles(struct sk_ctx *ctx);
/* key evict HANDLE: force also evicts the store's parent. */
int sk_key_evict(struct sk_ctx *ctx, const char *handle, int force);

#endif
