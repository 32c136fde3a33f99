#!/bin/sh
# json-fails.sh CMD ARG...: run a `seckit --json` call that is expected to
# fail (for storetool flipall, tests/30-store-tamper.bats).  Its stdout
# must be the one failure document {"ok":false,"error":{...}} and nothing
# of the listing it failed to print.  Prints nothing; exits with CMD's
# status, or 99 when stdout is anything else.
out=$("$@")
rc=$?
[ "$rc" -ne 0 ] || exit 0
case $out in
*'
'*) exit 99 ;;
*'"objects":'* | *'"keys":'* | *'"certificates":'*) exit 99 ;;
'{"ok":false,"error":{"code":"'*'","exit":'"$rc"',"message":"'*'"}}') exit "$rc" ;;
esac
exit 99
