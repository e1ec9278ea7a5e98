#!/usr/bin/env bash
# Idempotent set-up: Python virtualenv, Hadoop and HBase jars from Maven Central, a HADOOP_HOME
# that mrjob recognises, the stack's configuration and a local pseudonym key.
# Each step is skipped when what it produces is already there and up to date.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
CACHE="${DATALAKE_CACHE_DIR:-$ROOT/.cache}"
VENV="$ROOT/.venv"
step() { printf '\n== %s\n' "$*"; }

# ---- Java 17 and Maven
# shellcheck source=bin/java-env.sh
. "$ROOT/stack/bin/java-env.sh"
command -v mvn >/dev/null || { echo "error: Maven (mvn) is needed to fetch the Hadoop/HBase jars; install it (Debian: apt-get install maven)." >&2; exit 3; }

# ---- Python virtualenv
step "Python virtualenv ($VENV)"
PYTHON="${DATALAKE_PYTHON:-}"
if [ -z "$PYTHON" ]; then
  for candidate in python3.11 python3; do
    if command -v "$candidate" >/dev/null && "$candidate" -c 'import sys; sys.exit(sys.version_info[:2] != (3, 11))'; then
      PYTHON="$(command -v "$candidate")"; break
    fi
  done
fi
[ -n "$PYTHON" ] || { echo "error: Python 3.11 is needed (mrjob 0.7.4 does not run on 3.13); set DATALAKE_PYTHON to one." >&2; exit 3; }
req_hash="$(sha256sum "$ROOT/requirements.txt" | cut -d' ' -f1)"
if [ "$(cat "$VENV/.requirements.sha256" 2>/dev/null)" != "$req_hash" ]; then
  [ -x "$VENV/bin/python" ] || "$PYTHON" -m venv "$VENV"
  "$VENV/bin/pip" install --quiet --upgrade pip
  "$VENV/bin/pip" install --quiet -r "$ROOT/requirements.txt"
  echo "$req_hash" > "$VENV/.requirements.sha256"
  echo "installed $(wc -l < <("$VENV/bin/pip" freeze)) packages"
else
  echo "up to date"
fi

# ---- Jars: one lib dir per product, because HBase pins its own Hadoop client version.
fetch_jars() {  # product
  local product="$1" pom="$ROOT/stack/maven/$1/pom.xml" dest="$CACHE/jars/$1"
  local pom_hash; pom_hash="$(sha256sum "$pom" | cut -d' ' -f1)"
  if [ "$(cat "$dest/.pom.sha256" 2>/dev/null)" = "$pom_hash" ]; then
    echo "$product: up to date ($(ls "$dest"/*.jar | wc -l) jars)"; return
  fi
  rm -rf "$dest.partial"; mkdir -p "$CACHE"
  # reload4j / slf4j-reload4j would be a second logging binding beside HBase's log4j2.
  local excludes=""
  [ "$product" = hbase ] && excludes="-DexcludeArtifactIds=reload4j,slf4j-reload4j,slf4j-log4j12,log4j"
  (cd "$ROOT/stack/maven/$product" && mvn -q -B -Dstyle.color=never dependency:copy-dependencies -DincludeScope=runtime \
      -DoutputDirectory="$dest.partial" $excludes) >"$CACHE/maven-$product.log" 2>&1 \
    || { cat "$CACHE/maven-$product.log" >&2
         echo "error: Maven could not fetch the $product jars (is Maven Central reachable?); log: $CACHE/maven-$product.log" >&2; exit 4; }
  if [ "$product" = hadoop ]; then
    # The NameNode and DataNode web UIs (webapps/hdfs, webapps/datanode) ship in the tarball and
    # in hadoop-hdfs's tests jar, not in its main jar: unpack just those resources.
    local version; version="$(sed -n 's:.*<hadoop.version>\(.*\)</hadoop.version>.*:\1:p' "$pom")"
    (cd "$ROOT/stack/maven/$product" && mvn -q -B -Dstyle.color=never dependency:unpack \
        -Dartifact="org.apache.hadoop:hadoop-hdfs:$version:jar:tests" -Dmdep.unpack.includes='webapps/**' \
        -DoutputDirectory="$dest.partial/hdfs-webapps") >>"$CACHE/maven-$product.log" 2>&1 \
      || { echo "error: Maven could not fetch the HDFS web UI resources." >&2; exit 4; }
  fi
  echo "$pom_hash" > "$dest.partial/.pom.sha256"
  rm -rf "$dest"; mv "$dest.partial" "$dest"
  echo "$product: $(ls "$dest"/*.jar | wc -l) jars, $(du -sh "$dest" | cut -f1)"
}
step "Hadoop and HBase jars ($CACHE/jars)"
fetch_jars hadoop
fetch_jars hbase

# ---- HADOOP_HOME as mrjob's hadoop runner looks for it: bin/hadoop and the streaming jar.
step "HADOOP_HOME ($CACHE/hadoop-home)"
home="$CACHE/hadoop-home"
mkdir -p "$home/bin" "$home/share/hadoop/tools/lib"
ln -sfn "$ROOT/stack/bin/hadoop" "$home/bin/hadoop"
rm -f "$home"/share/hadoop/tools/lib/hadoop-streaming-*.jar
ln -sfn "$(ls "$CACHE"/jars/hadoop/hadoop-streaming-*.jar)" "$home/share/hadoop/tools/lib/"
ls "$home/share/hadoop/tools/lib"

# ---- The project's own Hadoop classes (stack/java), e.g. the curate job's output format that
# writes curated records and quarantined lines into two directories in one streaming job.
step "Project Hadoop classes ($CACHE/jars/datalake-mapreduce.jar)"
java_src="$ROOT/stack/java"
java_jar="$CACHE/jars/datalake-mapreduce.jar"
java_sources=$(find "$java_src" -name '*.java' | sort)
if [ -f "$java_jar" ] && [ -z "$(find "$java_src" -name '*.java' -newer "$java_jar")" ] \
   && [ "$java_jar" -nt "$ROOT/stack/setup.sh" ]; then
  echo "up to date"
else
  java_build="$(mktemp -d)"
  # shellcheck disable=SC2086  # one source path per word
  "$JAVA_HOME/bin/javac" -nowarn --release 8 -Xlint:-options -d "$java_build" \
      -cp "$CACHE/jars/hadoop/*" $java_sources \
    || { rm -rf "$java_build"; echo "error: compiling $java_src failed (JDK: $JAVA_HOME)." >&2; exit 5; }
  "$JAVA_HOME/bin/jar" --create --file "$java_jar.partial" -C "$java_build" .
  mv "$java_jar.partial" "$java_jar"
  rm -rf "$java_build"
  echo "built $("$JAVA_HOME/bin/jar" --list --file "$java_jar" | grep -c "\.class$") classes"
fi

# ---- Configuration
step "Stack configuration ($ROOT/var/conf)"
"$VENV/bin/python" "$ROOT/stack/stackctl.py" render
echo "written"

# ---- An emoji font for the analysis charts (optional: without it emojis are labelled by name).
step "Fonts for the charts"
fonts_output="$("$ROOT/stack/system-packages.sh" --optional fonts-symbola)"
echo "$fonts_output"
case "$fonts_output" in  # matplotlib caches its font list: let it see a font installed just now
  installed:*|*$'\n'installed:*) rm -rf "${XDG_CACHE_HOME:-$HOME/.cache}/matplotlib" ;;
esac

# ---- Pseudonym key for local use, outside the repository, readable by this user only.
step "Pseudonym key"
key_file="${DATALAKE_PSEUDONYM_KEY_FILE:-${XDG_CONFIG_HOME:-$HOME/.config}/mastodon-datalake/pseudonym.key}"
if [ -n "${DATALAKE_PSEUDONYM_KEY:-}" ]; then
  echo "given by DATALAKE_PSEUDONYM_KEY"
elif [ -s "$key_file" ]; then
  echo "present: $key_file"
else
  mkdir -p "$(dirname "$key_file")"
  (umask 077 && "$VENV/bin/python" -c 'import secrets; print(secrets.token_hex(32))' > "$key_file")
  echo "created: $key_file (mode 600)"
fi
echo
echo "setup done. Next: make start (stack), make demo (end-to-end job), make test (all tests)."
