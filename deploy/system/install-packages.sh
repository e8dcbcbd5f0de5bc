#!/usr/bin/env bash
# Installs the Debian packages eco-pipeline needs beyond Python: Java and Maven (Apache Kafka),
# Pango/HarfBuzz and Noto fonts (PDF previews that shape Thai and Vietnamese), and with --test
# the tools the tests use to look at the previews (poppler, tesseract with Thai and Vietnamese,
# zbar). Only what is missing is installed; without root it says what to install and fails.
set -euo pipefail

runtime=(openjdk-17-jre-headless maven libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz-subset0
         fonts-noto-core fonts-dejavu-core)
# Node.js runs the demo OpenID provider (deploy/oidc).
runtime+=(nodejs npm)
testing=(poppler-utils tesseract-ocr tesseract-ocr-eng tesseract-ocr-tha tesseract-ocr-vie
         zbar-tools)
# Operations: promtool and a real Prometheus and Alertmanager for the alerting tests.
testing+=(prometheus prometheus-alertmanager)
# The security tests: a PKCS#11 token (SoftHSM2) and the reference XMLDSig verifier.
testing+=(softhsm2 xmlsec1)
# Debian's Chromium for the portal's browser tests (Playwright drives it; no browser download).
testing+=(chromium)

wanted=("${runtime[@]}")
[[ "${1:-}" == "--test" ]] && wanted+=("${testing[@]}")

missing=()
for package in "${wanted[@]}"; do
  case "$package" in
    openjdk-17-jre-headless) command -v java >/dev/null 2>&1 && continue ;;
    maven) command -v mvn >/dev/null 2>&1 && continue ;;
    nodejs) command -v node >/dev/null 2>&1 && continue ;;
    npm) command -v npm >/dev/null 2>&1 && continue ;;
  esac
  dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" \
    || missing+=("$package")
done

if ((${#missing[@]} == 0)); then
  exit 0
fi
if [[ $(id -u) -ne 0 ]]; then
  echo "eco-pipeline needs these Debian packages: ${missing[*]}" >&2
  echo "install them with: sudo apt-get install ${missing[*]}" >&2
  exit 1
fi
apt-get update -q
DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}"
