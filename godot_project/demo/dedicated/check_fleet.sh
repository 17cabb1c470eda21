#!/usr/bin/env bash
# Checks fleet.yaml against Agones' own Fleet schema with kubeconform:
#   check_fleet.sh AGONES_INSTALL_YAML [KUBECONFORM]
# AGONES_INSTALL_YAML is install/yaml/install.yaml of the Agones repository
# (its CustomResourceDefinitions); the Fleet CRD's openAPIV3Schema is turned
# into the JSON schema kubeconform reads (python3 with PyYAML).
set -euo pipefail
install=${1:?usage: check_fleet.sh AGONES_INSTALL_YAML [KUBECONFORM]}
kubeconform=${2:-kubeconform}
here=$(cd "$(dirname "$0")" && pwd)
schemas=$(mktemp -d)
trap 'rm -rf "$schemas"' EXIT
python3 - "$install" "$schemas" <<'PY'
import json, sys, yaml
install, out = sys.argv[1], sys.argv[2]
found = False
for doc in yaml.safe_load_all(open(install)):
    if not doc or doc.get("kind") != "CustomResourceDefinition":
        continue
    spec = doc["spec"]
    if spec["group"] != "agones.dev" or spec["names"]["kind"] != "Fleet":
        continue
    for v in spec["versions"]:
        schema = v["schema"]["openAPIV3Schema"]
        name = "%s/%s_%s.json" % (out, spec["names"]["kind"].lower(), v["name"])
        json.dump(schema, open(name, "w"))
        found = True
if not found:
    sys.exit("no Fleet CustomResourceDefinition in " + install)
PY
"$kubeconform" -strict -summary -schema-location "$schemas/{{ .ResourceKind }}_{{ .ResourceAPIVersion }}.json" "$here/fleet.yaml"
