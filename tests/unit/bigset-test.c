/* SPDX-License-Identifier: MIT */
/* src/base/bigset.c: exact at any size (no false "there", no missed
 * string) with most strings spilled to the temporary file; strings that
 * differ in their last byte only; lookups after the adds; the spill file
 * is unnamed; a TMPDIR that cannot hold it is an error that names it.
 *
 *   bigset-test TMPDIR [N]      (N strings, default 300,000) */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/bigset.h"
#include "check.h"

/* Entries of dir (not . and ..). */
static int entries(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	int k = 0;

	if (d == NULL)
		return -1;
	while ((e = readdir(d)) != NULL)
		if (strcmp(e->d_name, ".") && strcmp(e->d_name, ".."))
			k++;
	closedir(d);
	return k;
}

int main(int argc, char **argv)
{
	struct sk_bigset *s = NULL;
	char str[256], nodir[4200];
	uint64_t i, nstr = argc > 2 ? strtoull(argv[2], NULL, 10) : 300000, old, val, first_spill = 0;
	size_t wrong = 0, found_n = 0;
	int found, rc = SK_OK;

	if (argc < 2) {
		fprintf(stderr, "usage: bigset-test TMPDIR [N]\n");
		return 2;
	}
	CHECK(sk_bigset_new(argv[1], &s) == SK_OK, "a new set");
	for (i = 0; i < nstr && rc == SK_OK; i++) {
		snprintf(str, sizeof(str), "device-%09llu", (unsigned long long)i);
		rc = sk_bigset_add(s, str, i + 1, &found, &old);
		if (found)
			wrong++;
		if (first_spill == 0 && sk_bigset_spilled(s) > 0)
			first_spill = i + 1;
	}
	CHECK(rc == SK_OK, "every string added");
	CHECK(wrong == 0, "no string found before it was added (no false duplicate)");
	CHECK(sk_bigset_count(s) == nstr, "the set counts them");
	printf("# spilled from string %llu on; %llu bytes on disk\n", (unsigned long long)first_spill,
	       (unsigned long long)sk_bigset_spilled(s));
	CHECK(sk_bigset_spilled(s) > 0, "most of them went to the temporary file");
	CHECK(entries(argv[1]) == 0, "which has no name in TMPDIR");

	/* every one found again, with its number, by add and by get */
	for (i = 0; i < nstr && rc == SK_OK; i++) {
		snprintf(str, sizeof(str), "device-%09llu", (unsigned long long)i);
		if (i % 2)
			rc = sk_bigset_add(s, str, 0, &found, &old);
		else
			rc = sk_bigset_get(s, str, &found, &old);
		if (rc == SK_OK && (!found || old != i + 1))
			wrong++;
	}
	CHECK(rc == SK_OK && wrong == 0, "each string found again, with its own number");
	CHECK(sk_bigset_count(s) == nstr, "a string found is not added twice");
	/* and no other string, however close */
	for (i = 0; i < nstr && rc == SK_OK; i++) {
		snprintf(str, sizeof(str), "device-%09llu", (unsigned long long)(i + nstr));
		rc = sk_bigset_get(s, str, &found, NULL);
		found_n += (size_t)found;
	}
	CHECK(rc == SK_OK && found_n == 0, "no string that was not added is found");

	/* 255-byte strings that differ only in the last byte */
	memset(str, 'a', 255);
	str[255] = '\0';
	CHECK(sk_bigset_add(s, str, 7, &found, &old) == SK_OK && !found, "a 255-byte string");
	str[254] = 'b';
	CHECK(sk_bigset_add(s, str, 8, &found, &old) == SK_OK && !found,
	      "another that differs in its last byte only");
	CHECK(sk_bigset_get(s, str, &found, &val) == SK_OK && found && val == 8, "found with its number");
	str[254] = 'a';
	CHECK(sk_bigset_add(s, str, 9, &found, &old) == SK_OK && found && old == 7,
	      "the first one again: found, with its own");
	str[254] = 'c';
	CHECK(sk_bigset_get(s, str, &found, &val) == SK_OK && !found, "a third is not there");
	CHECK(sk_bigset_add(s, "", 1, &found, &old) == SK_EUSAGE, "the empty string is refused");
	sk_bigset_free(s);

	/* a TMPDIR that cannot hold the file: an error naming it, at the
	 * first chunk that has to go there */
	snprintf(nodir, sizeof(nodir), "%s/no/such/dir", argv[1]);
	CHECK(sk_bigset_new(nodir, &s) == SK_OK, "a set whose TMPDIR does not exist");
	for (i = 0, rc = SK_OK; i < nstr && rc == SK_OK; i++) {
		snprintf(str, sizeof(str), "device-%09llu", (unsigned long long)i);
		rc = sk_bigset_add(s, str, i + 1, &found, &old);
	}
	CHECK(rc == SK_EFAIL && strstr(sk_err_msg(), nodir) != NULL &&
	      strstr(sk_err_msg(), "TMPDIR") != NULL,
	      "fails when it must spill, naming the directory");
	sk_bigset_free(s);
	printf("1..%d\n", n);
	return 0;
}
