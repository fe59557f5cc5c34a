#!/bin/sh
# Entry point of the vrdma-spark image: a Spark 3.5 standalone master, worker or client (spark-submit) started
# with `java -cp` on Spark's jars, since the image holds Spark's Maven jars rather than a distribution (no
# sbin/ or bin/ scripts).
#   master                    standalone master on port 7077 (web UI 8080)
#   worker <master-url>       standalone worker; SPARK_WORKER_CORES / SPARK_WORKER_MEMORY size it
#   submit <spark-submit args> spark-submit in client mode; the plugin jar is on the driver's class path
#   anything else             run as given (a shell, ibv_devices, ...)
set -eu

# Spark's own list (JavaModuleOptions): Spark 3.5 on Java 17 needs these opens in every JVM that runs tasks or
# the driver. The bin/ scripts add them for a distribution; here we start the JVMs ourselves.
SPARK_JAVA_OPENS="-XX:+IgnoreUnrecognizedVMOptions \
--add-opens=java.base/java.lang=ALL-UNNAMED \
--add-opens=java.base/java.lang.invoke=ALL-UNNAMED \
--add-opens=java.base/java.lang.reflect=ALL-UNNAMED \
--add-opens=java.base/java.io=ALL-UNNAMED \
--add-opens=java.base/java.net=ALL-UNNAMED \
--add-opens=java.base/java.nio=ALL-UNNAMED \
--add-opens=java.base/java.util=ALL-UNNAMED \
--add-opens=java.base/java.util.concurrent=ALL-UNNAMED \
--add-opens=java.base/java.util.concurrent.atomic=ALL-UNNAMED \
--add-opens=java.base/jdk.internal.ref=ALL-UNNAMED \
--add-opens=java.base/sun.nio.ch=ALL-UNNAMED \
--add-opens=java.base/sun.nio.cs=ALL-UNNAMED \
--add-opens=java.base/sun.security.action=ALL-UNNAMED \
--add-opens=java.base/sun.util.calendar=ALL-UNNAMED \
-Djdk.reflect.useDirectMethodHandle=false \
-Dio.netty.tryReflectionSetAccessible=true"

# Spark advertises this address to its peers (workers to the master, executors to the driver, block servers to
# each other): the container's own address on the cluster network, whatever its hostname resolves to.
SPARK_LOCAL_IP="${SPARK_LOCAL_IP:-$(hostname -i | awk '{print $1}')}"
export SPARK_LOCAL_IP
CLASSPATH_SPARK="$SPARK_HOME/conf:$SPARK_HOME/jars/*"

cmd="${1:-}"
case "$cmd" in
  master)
    shift
    # shellcheck disable=SC2086 # the option lists are meant to split into words
    exec java -Xmx${SPARK_DAEMON_MEMORY:-512m} $SPARK_JAVA_OPENS ${SPARK_DAEMON_JAVA_OPTS:-} -cp "$CLASSPATH_SPARK" \
      org.apache.spark.deploy.master.Master --host "$SPARK_LOCAL_IP" --port 7077 --webui-port 8080 "$@"
    ;;
  worker)
    shift
    if [ $# -lt 1 ]; then
      echo "usage: worker spark://<master>:7077" >&2
      exit 2
    fi
    # one line on what this container gives the plugin's tiers (the executors log their own verdict)
    devices="$(ls /sys/class/infiniband 2>/dev/null | tr '\n' ' ')"
    echo "worker $(hostname) at $SPARK_LOCAL_IP: /dev/shm $(df -k /dev/shm | awk 'NR==2 {print $2}') KiB;" \
      "RDMA devices: ${devices:-none}; /dev/infiniband $([ -d /dev/infiniband ] && echo present || echo absent);" \
      "memlock $(ulimit -l)"
    # shellcheck disable=SC2086
    exec java -Xmx${SPARK_DAEMON_MEMORY:-512m} $SPARK_JAVA_OPENS ${SPARK_DAEMON_JAVA_OPTS:-} -cp "$CLASSPATH_SPARK" \
      org.apache.spark.deploy.worker.Worker --host "$SPARK_LOCAL_IP" --work-dir "$SPARK_HOME/work" \
      --cores "${SPARK_WORKER_CORES:-2}" --memory "${SPARK_WORKER_MEMORY:-2g}" "$@"
    ;;
  submit)
    shift
    # Spark 3.5 creates the ShuffleManager before --jars are loaded: the plugin must be on the JVM's class path
    # (spark.driver.extraClassPath in spark-defaults.conf says the same for a distribution's spark-submit).
    # shellcheck disable=SC2086
    exec java -Xmx${SPARK_DRIVER_MEMORY:-1g} $SPARK_JAVA_OPENS \
      -cp "/opt/vrdma/vrdma-shuffle-manager-plugin.jar:$CLASSPATH_SPARK" \
      org.apache.spark.deploy.SparkSubmit --conf "spark.driver.host=$SPARK_LOCAL_IP" "$@"
    ;;
  "")
    echo "usage: master | worker <master-url> | submit <spark-submit args> | <command>" >&2
    exit 2
    ;;
  *)
    exec "$@"
    ;;
esac
