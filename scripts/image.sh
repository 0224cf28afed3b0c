#!/usr/bin/env bash
# Builds the weave image without a registry or an image builder: a root file system assembled
# here (the equivalent of a `FROM scratch` Dockerfile) and written as one tarball, which
# `docker import` turns into an image with the entry point and environment below.
#
#   scripts/image.sh                      build dist/image/weave-rootfs.tar
#   scripts/image.sh --load HOST [TAG]    build it if stale, then import it into the engine at
#                                         HOST (a `docker -H` address) as TAG
#                                         (default weave-ts/weave:latest, the manifest's image)
#
# Why a tarball and `docker import` rather than `DOCKER_BUILDKIT=0 docker build`: the classic
# builder needs a running engine to build at all (and is deprecated), while the tarball is built
# by plain file copies, once, and any engine (one per test host in the e2e tests) imports it in a
# second. The image has one layer.
#
# What is in it (there is no `deno compile` runtime here, so the executable is Deno itself):
#   /home/weave/weave          the entry point (busybox sh): `deno run` of the bundle with the
#                              permissions of scripts/permissions.txt; the manifest's command
#   /home/weave/deno           Deno, dynamically linked: its libraries (ldd) in /lib*, and
#                              libsodium.so.23 (sleeve encryption over FFI)
#   /home/weave/dist/weave.js  the bundle (`./weave --bundle`)
#   /home/weave/**.ts          the sources the bundle imports at run time (kube/cli.ts, the Docker
#                              services, and what they import), with deno.json and deno.lock
#   /home/weave/.deno          DENO_DIR, with the npm packages of deno.json, filled here
#   /bin/busybox, /bin/*       a static busybox and its applets (sh for the entry script)
#   /usr/sbin/nft              nftables' CLI (`weave expose` masquerading), with its libraries
set -euo pipefail

here="$(cd "${BASH_SOURCE[0]%/*}/.." && pwd)"
deno="$here/.tools/node_modules/deno/deno"
out="$here/dist/image"
tarball="$out/weave-rootfs.tar"
app=home/weave

# The entry script, written into the image as /home/weave/weave (busybox sh; no bash there).
# As in ./weave: the CNI plugin role by file name, the router's V8 flags for the launchers.
entry_script() {
  local perms
  perms="$(grep -v '^#' "$here/scripts/permissions.txt" | tr '\n' ' ' | tr -s ' ')"
  cat <<EOF
#!/bin/sh
# weave in the image (scripts/image.sh): the bundle run by Deno.
case "\${0##*/}" in
  weave-net | weave-ipam) WEAVE_CNI_PLUGIN="\${0##*/}"; export WEAVE_CNI_PLUGIN ;;
esac
case "\${1:-}" in
  launch | kube-launch)
    DENO_V8_FLAGS="--max-semi-space-size=1,--single-threaded,--max-opt=2,--expose-gc\${DENO_V8_FLAGS:+,\$DENO_V8_FLAGS}"
    export DENO_V8_FLAGS ;;
esac
# setup-cni installs a copy of Deno and the bundle beside the plugins: the host cannot see /$app.
WEAVE_CNI_SELF_CONTAINED=1; export WEAVE_CNI_SELF_CONTAINED
DENO_DIR="\${DENO_DIR:-/$app/.deno}"; DENO_NO_UPDATE_CHECK=1; export DENO_DIR DENO_NO_UPDATE_CHECK
exec /$app/deno run --quiet --config /$app/deno.json ${perms}/$app/dist/weave.js "\$@"
EOF
}

# Copies file $1 to $root/$2 (creating directories), following symlinks.
put() {
  mkdir -p "$root/$(dirname "$2")"
  cp -L "$1" "$root/$2"
}

build() {
  "$here/weave" --bundle
  [[ -f "$here/dist/weave.js" ]] || { echo "image.sh: the bundle could not be built" >&2; exit 1; }
  local sodium
  sodium="$("$(command -v ldconfig || echo /sbin/ldconfig)" -p | awk '/libsodium\.so\.23 .*x86-64/ && !f { f = $NF } END { print f }')"
  [[ -n "$sodium" ]] || { echo "image.sh: libsodium.so.23 not found: install libsodium23" >&2; exit 1; }
  [[ -x /bin/busybox ]] || { echo "image.sh: /bin/busybox not found: install busybox-static" >&2; exit 1; }

  mkdir -p "$out"
  root="$(mktemp -d "$out/.rootfs-XXXXXX")"
  trap 'rm -rf "$root"' EXIT
  mkdir -p "$root"/{bin,tmp,proc,sys,dev,etc,run,"$app"/dist}
  chmod 1777 "$root/tmp"
  put /bin/busybox bin/busybox
  ln -s busybox "$root/bin/sh"
  # busybox's applets (readlink, setsid, ... that the router runs) as links in /bin.
  for applet in $(/bin/busybox --list); do
    [[ -e "$root/bin/$applet" ]] || ln -s busybox "$root/bin/$applet"
  done
  put "$deno" "$app/deno"
  put /usr/sbin/nft usr/sbin/nft
  # The shared libraries of Deno and nft, at the paths their loader looks in (this machine's).
  while read -r lib; do
    put "$lib" "${lib#/}"
  done < <(ldd "$deno" /usr/sbin/nft | awk '/=> \// { print $3 } $1 ~ /^\// && $1 !~ /:$/ { print $1 }' | sort -u)
  put "$sodium" "${sodium#/}"
  put "$here/dist/weave.js" "$app/dist/weave.js"
  put "$here/deno.json" "$app/deno.json"
  put "$here/deno.lock" "$app/deno.lock"
  put "$here/scripts/permissions.txt" "$app/scripts/permissions.txt"
  # The sources the bundle imports at run time: kube-launch's (cli/kube_launch.ts: ../kube/cli.ts)
  # and the Docker services the router starts when an engine answers (router/weaver.ts).
  for entry in kube/cli.ts docker/services.ts docker/client.ts docker/endpoint.ts; do
    "$deno" info --json --config "$here/deno.json" "$here/$entry" |
      "$deno" eval --quiet 'const j = JSON.parse(await new Response(Deno.stdin.readable).text());
        for (const m of j.modules) if (m.specifier.startsWith("file://")) console.log(new URL(m.specifier).pathname);'
  done | sort -u |
    while read -r f; do put "$f" "$app/${f#"$here"/}"; done
  entry_script >"$root/$app/weave"
  chmod 755 "$root/$app/weave"
  # The npm packages, into the image's DENO_DIR (only the registry cache is path independent).
  DENO_DIR="$root/$app/.deno" "$deno" cache --quiet --config "$root/$app/deno.json" \
    "$root/$app/kube/cli.ts" >/dev/null
  rm -rf "$root/$app/.deno"/{gen,*_cache_v2*,dl}
  tar -C "$root" --owner=0 --group=0 --numeric-owner -cf "$tarball.tmp" .
  mv -f "$tarball.tmp" "$tarball"
  echo "image.sh: $tarball ($(du -m "$tarball" | cut -f1) MiB)" >&2
}

# True when the tarball exists and nothing it is built from is newer.
fresh() {
  [[ -f "$tarball" ]] || return 1
  local newer
  newer="$(find "$here" \( -path "$here/.tools" -o -path "$here/dist" -o -path "$here/.git" \
    -o -path "$here/tests" -o -path "$here/bench" -o -path "$here/testdata" \) -prune -o \
    \( -name '*.ts' -o -name deno.json -o -name deno.lock -o -name permissions.txt \
    -o -name image.sh \) -newer "$tarball" -print -quit)"
  [[ -z "$newer" ]]
}

if [[ "${1:-}" == "--load" ]]; then
  host="${2:?usage: scripts/image.sh --load HOST [TAG]}"
  tag="${3:-weave-ts/weave:latest}"
  fresh || build
  docker="$(command -v /usr/bin/docker || command -v docker)"
  "$docker" -H "$host" import \
    --change 'ENTRYPOINT ["/home/weave/weave"]' \
    --change 'CMD ["kube-launch"]' \
    --change 'WORKDIR /home/weave' \
    --change 'ENV DENO_DIR=/home/weave/.deno' \
    --change 'ENV DENO_NO_UPDATE_CHECK=1' \
    --change 'ENV PATH=/home/weave:/usr/sbin:/bin' \
    "$tarball" "$tag" >/dev/null
  echo "image.sh: imported as $tag into $host" >&2
else
  build
fi
