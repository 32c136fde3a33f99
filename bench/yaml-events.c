/* SPDX-License-Identifier: MIT */
/* The floor for bench/yaml.bench.sh: libyaml's event parser alone over a
 * file (every event read and dropped, no tree, no checks); prints the
 * number of events. */
#include <stdio.h>

#include <yaml.h>

int main(int argc, char **argv)
{
	yaml_parser_t p;
	yaml_event_t ev;
	unsigned long n = 0;
	int done = 0;
	FILE *f;

	if (argc != 2 || (f = fopen(argv[1], "rb")) == NULL || !yaml_parser_initialize(&p))
		return 1;
	yaml_parser_set_input_file(&p, f);
	while (!done) {
		if (!yaml_parser_parse(&p, &ev))
			return 1;
		done = ev.type == YAML_STREAM_END_EVENT;
		n++;
		yaml_event_delete(&ev);
	}
	yaml_parser_delete(&p);
	fclose(f);
	printf("%lu\n", n);
	return 0;
}
