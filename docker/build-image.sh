#!/usr/bin/env bash
# Builds the vrdma-spark image: the plugin and the check job with Maven, Spark's jars resolved by Maven into the
# build context, then `<engine> build`. Works with podman (default) or Docker (ENGINE=docker).
#   docker/build-image.sh [image-name]          (default localhost/vrdma-spark:latest)
# Environment: ENGINE (podman|docker), SKIP_MVN=1 to reuse the jars already in */target.
# The base image debian:bookworm-slim must be available to the engine (pulled, or made locally as
# docker/run-cluster-test.sh does when no registry is reachable); podman builds with --pull=never.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/.." && pwd)"
image="${1:-localhost/vrdma-spark:latest}"
engine="${ENGINE:-podman}"
ctx="$here/target/context"

if [ "${SKIP_MVN:-0}" != 1 ]; then
  echo "build-image: building the plugin and the check job (mvn package, no tests)"
  (cd "$root" && mvn -B -ntp -q -pl shuffle-manager,benchmarks/spark-shuffle -am -DskipTests package)
fi
plugin="$root/shuffle-manager/target/vrdma-shuffle-manager-plugin.jar"
# the -job jar: the check job with the one module of ours that Spark's jars and the plugin jar do not hold
job="$(ls "$root"/benchmarks/spark-shuffle/target/vrdma-spark-shuffle-bench-*-job.jar 2>/dev/null | head -1 || true)"
for f in "$plugin" "$job"; do
  if [ ! -f "$f" ]; then
    echo "build-image: ${f:-the check job jar} is missing; run without SKIP_MVN=1" >&2
    exit 1
  fi
done

rm -rf "$ctx"
mkdir -p "$ctx/jars" "$ctx/vrdma/jobs" "$ctx/conf"
echo "build-image: resolving Spark's jars (docker/spark/pom.xml)"
mvn -B -ntp -q -f "$here/spark/pom.xml" dependency:copy-dependencies -DoutputDirectory="$ctx/jars"
cp "$plugin" "$ctx/vrdma/vrdma-shuffle-manager-plugin.jar"
cp "$job" "$ctx/vrdma/jobs/vrdma-spark-shuffle-bench.jar"
cp "$root/conf/spark-defaults.conf" "$here/spark-defaults.docker.conf" "$ctx/conf/"
cp "$here/Dockerfile" "$here/entrypoint.sh" "$ctx/"

pull=()
if [ "$engine" = podman ]; then
  pull=(--pull=never)
fi
echo "build-image: $engine build -t $image ($(du -sh "$ctx" | cut -f1) of context)"
"$engine" build "${pull[@]}" -t "$image" "$ctx"
