# One image per function, all sharing target "base". Bake also reads docker-bake.json
# (written by `queuefirst bakefile`), which names the application and its entities.
#
#   docker buildx bake                       # everything (group "default")
#   docker buildx bake worker-customers      # one function (also: group "customers")
#   PYTHON_BASE=$(scripts/make-python-base.sh) docker buildx bake
#   REGISTRY=localhost:5000/ TAG=abc123 docker buildx bake --push
#   FINGERPRINTS=$(queuefirst plan --fingerprints) SCHEMA_REVISIONS=$(queuefirst plan --schema-revisions) \
#     docker buildx bake
#
# Images: ${REGISTRY}${APP}-api:${TAG}, ${REGISTRY}${APP}-admin:${TAG},
# ${REGISTRY}${APP}-<entity>-worker:${TAG}.
# Single-platform images without attestations: Lambda rejects OCI image indexes.

variable "REGISTRY" {
  # Prefix of every image name, with its trailing slash ("localhost:5000/", "<acct>.dkr.ecr.<region>.amazonaws.com/").
  default = ""
}
variable "TAG" {
  default = "dev"
}
variable "PYTHON_BASE" {
  default = "python:3.12-slim"
}
# APP (the application's name), PACKAGE (its Python package) and ENTITIES come from
# docker-bake.json, which `queuefirst bakefile` writes from the application's entity
# modules; bake reads both files.
variable "PLATFORM" {
  default = "linux/amd64"
}
variable "SOURCE_URL" {
  default = "https://github.com/queuefirst/queuefirst"
}
variable "REVISION" {
  # Leave empty for deployable builds: a label that changes with every commit changes
  # every image's digest, and so redeploys every function.
  default = ""
}
variable "FINGERPRINTS" {
  # JSON object {"<function>": "<sha256>"} from `queuefirst plan --fingerprints`.
  default = "{}"
}
variable "FINGERPRINT_PARTS" {
  # JSON object {"<function>": "<parts JSON>"} from `queuefirst plan --fingerprint-parts`: what
  # each image is made of (base, contracts, logic, own code), so a later plan says why it moved.
  default = "{}"
}
variable "SCHEMA_REVISIONS" {
  # JSON object {"<target>": "<revision>"} from `queuefirst plan --schema-revisions`: the
  # schema revision each function image needs, baked in as a label and an environment
  # variable. The api and worker builds fail without it (see their Dockerfiles).
  default = "{}"
}
variable "CA_BUNDLE" {
  # CA bundle for a TLS-intercepting proxy, given to pip as the build secret "cacert".
  default = "/etc/ssl/certs/ca-certificates.crt"
}
variable "PIP_INDEX_URL" {
  default = ""
}
variable "PIP_EXTRA_INDEX_URL" {
  default = ""
}
variable "PIP_TRUSTED_HOST" {
  default = ""
}

function "image" {
  params = [fn]
  result = "${REGISTRY}${APP}-${fn}:${TAG}"
}

function "fingerprint" {
  params = [fn]
  result = lookup(jsondecode(FINGERPRINTS), fn, "")
}

function "fingerprint_parts" {
  params = [fn]
  result = lookup(jsondecode(FINGERPRINT_PARTS), fn, "")
}

function "schema_revision" {
  params = [fn]
  result = lookup(jsondecode(SCHEMA_REVISIONS), fn, "")
}

target "_common" {
  context   = "."
  platforms = [PLATFORM]
  attest    = ["type=provenance,disabled=true", "type=sbom,disabled=true"]
  secret    = ["type=file,id=cacert,src=${CA_BUNDLE}"]
  args = {
    APP                 = APP
    PACKAGE             = PACKAGE
    SOURCE_DATE_EPOCH   = "0"
    PIP_INDEX_URL       = PIP_INDEX_URL
    PIP_EXTRA_INDEX_URL = PIP_EXTRA_INDEX_URL
    PIP_TRUSTED_HOST    = PIP_TRUSTED_HOST
  }
  labels = {
    "org.opencontainers.image.source"   = SOURCE_URL
    "org.opencontainers.image.revision" = REVISION
    "queuefirst.app"                    = APP
  }
}

target "base" {
  inherits   = ["_common"]
  dockerfile = "images/base/Dockerfile"
  args = {
    PYTHON_BASE = PYTHON_BASE
  }
  labels = {
    "queuefirst.function"    = "base"
    "queuefirst.fingerprint" = fingerprint("base")
    "queuefirst.fingerprint-parts" = fingerprint_parts("base")
  }
  tags = ["${REGISTRY}${APP}-base:${TAG}"]
}

target "api" {
  inherits   = ["_common"]
  dockerfile = "images/api/Dockerfile"
  contexts   = { base = "target:base" }
  args = {
    SCHEMA_REVISION = schema_revision("api")
  }
  labels = {
    "org.opencontainers.image.title" = "${APP}-api"
    "queuefirst.function"            = "api"
    "queuefirst.fingerprint"         = fingerprint("api")
    "queuefirst.fingerprint-parts"   = fingerprint_parts("api")
    "queuefirst.schema-revision"     = schema_revision("api")
  }
  tags = [image("api")]
}

target "admin" {
  inherits   = ["_common"]
  dockerfile = "images/admin/Dockerfile"
  contexts   = { base = "target:base" }
  args = {
    SCHEMA_REVISION = schema_revision("admin")
  }
  labels = {
    "org.opencontainers.image.title" = "${APP}-admin"
    "queuefirst.function"            = "admin"
    "queuefirst.fingerprint"         = fingerprint("admin")
    "queuefirst.fingerprint-parts"   = fingerprint_parts("admin")
    "queuefirst.schema-revision"     = schema_revision("admin")
  }
  tags = [image("admin")]
}

target "worker" {
  name       = "worker-${entity}"
  matrix     = { entity = ENTITIES }
  inherits   = ["_common"]
  dockerfile = "images/worker/Dockerfile"
  contexts   = { base = "target:base" }
  args = {
    ENTITY          = entity
    SCHEMA_REVISION = schema_revision("worker-${entity}")
  }
  labels = {
    "org.opencontainers.image.title" = "${APP}-${entity}-worker"
    "queuefirst.function"            = "worker-${entity}"
    "queuefirst.entity"              = entity
    "queuefirst.fingerprint"         = fingerprint("worker-${entity}")
    "queuefirst.fingerprint-parts"   = fingerprint_parts("worker-${entity}")
    "queuefirst.schema-revision"     = schema_revision("worker-${entity}")
  }
  tags = [image("${entity}-worker")]
}

group "default" {
  targets = concat(["api", "admin"], [for e in ENTITIES : "worker-${e}"])
}

group "workers" {
  targets = [for e in ENTITIES : "worker-${e}"]
}

# One group per entity, named like it ("customers"), is in docker-bake.json.
