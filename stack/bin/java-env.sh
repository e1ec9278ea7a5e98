# Sourced by the launchers: picks JDK 17 and the JVM flags every Hadoop/HBase process needs.
# Hadoop 3.4 and HBase 2.6 are built for Java 8-17; the Temurin 25 beside it breaks Hadoop's
# security code (Subject.getSubject), so JAVA_HOME must be a 17.

find_java17() {
  local candidate
  if [ -n "${DATALAKE_JAVA_HOME:-}" ]; then  # explicit choice: use it or say why not
    if "$DATALAKE_JAVA_HOME/bin/java" -version 2>&1 | head -1 | grep -q '"17\.'; then
      echo "$DATALAKE_JAVA_HOME"; return 0
    fi
    echo "error: DATALAKE_JAVA_HOME=$DATALAKE_JAVA_HOME is not a Java 17." >&2
    return 1
  fi
  for candidate in "${JAVA_HOME:-}" /usr/lib/jvm/java-17-openjdk-amd64 \
                   /usr/lib/jvm/java-17-openjdk-arm64 /usr/lib/jvm/java-17-openjdk /usr/lib/jvm/openjdk-17; do
    [ -n "$candidate" ] && [ -x "$candidate/bin/java" ] || continue
    if "$candidate/bin/java" -version 2>&1 | head -1 | grep -q '"17\.'; then
      echo "$candidate"; return 0
    fi
  done
  return 1
}

if ! JAVA_HOME="$(find_java17)"; then
  echo "error: no Java 17 found (looked at \$DATALAKE_JAVA_HOME, \$JAVA_HOME and /usr/lib/jvm/java-17-*)." >&2
  echo "       Install OpenJDK 17 (Debian: apt-get install openjdk-17-jdk-headless) or set DATALAKE_JAVA_HOME." >&2
  exit 3
fi
export JAVA_HOME

# The module openings that Hadoop's hadoop-env.sh and HBase's bin/hbase add on Java 17.
JDK17_OPENS="-XX:+IgnoreUnrecognizedVMOptions \
 --add-opens=java.base/java.lang=ALL-UNNAMED \
 --add-opens=java.base/java.lang.reflect=ALL-UNNAMED \
 --add-opens=java.base/java.lang.invoke=ALL-UNNAMED \
 --add-opens=java.base/java.io=ALL-UNNAMED \
 --add-opens=java.base/java.net=ALL-UNNAMED \
 --add-opens=java.base/java.nio=ALL-UNNAMED \
 --add-opens=java.base/java.security=ALL-UNNAMED \
 --add-opens=java.base/java.text=ALL-UNNAMED \
 --add-opens=java.base/java.util=ALL-UNNAMED \
 --add-opens=java.base/java.util.concurrent=ALL-UNNAMED \
 --add-opens=java.base/java.util.concurrent.atomic=ALL-UNNAMED \
 --add-opens=java.base/java.util.regex=ALL-UNNAMED \
 --add-opens=java.base/java.util.zip=ALL-UNNAMED \
 --add-opens=java.base/jdk.internal.misc=ALL-UNNAMED \
 --add-opens=java.base/jdk.internal.ref=ALL-UNNAMED \
 --add-opens=java.base/sun.nio.ch=ALL-UNNAMED \
 --add-opens=java.base/sun.nio.cs=ALL-UNNAMED \
 --add-opens=java.base/sun.security.action=ALL-UNNAMED \
 --add-opens=java.base/sun.util.calendar=ALL-UNNAMED \
 --add-opens=java.security.jgss/sun.security.krb5=ALL-UNNAMED \
 --add-exports=java.base/jdk.internal.misc=ALL-UNNAMED \
 --add-exports=java.base/sun.net.dns=ALL-UNNAMED \
 --add-exports=java.base/sun.net.util=ALL-UNNAMED \
 -Dio.netty.tryReflectionSetAccessible=true \
 -Dorg.apache.hbase.thirdparty.io.netty.tryReflectionSetAccessible=true"
export JDK17_OPENS
