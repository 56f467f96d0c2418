#!/bin/sh
# Compile src/ and pack model.jar (what `drumnb new model --language java` did once).
set -e
cd "$(dirname "$0")"
rm -rf build && mkdir build
javac --release 11 -d build $(find src -name '*.java')
jar cf model.jar -C build .
rm -rf build
echo "wrote model.jar"
