# The tenant template's Atlas project: the same shape as the control plane's
# (../atlas.hcl), with paths relative to this file, so every tool that takes a
# project folder (the schema engine's --config, the gate, `db` commands) can be
# pointed at tenant/ instead of the repository root:
#   DATABASE_URL   the tenant database to plan against or change
#   ATLAS_DEV_URL  an empty scratch database to normalise plans and replay on
#
# Provisioning and `control-plane fleet migrate` run
#   control-plane-engine migrate apply --config tenant/atlas.hcl --env <ATLAS_ENV>
# with one tenant database's URL as DATABASE_URL (in the child's environment,
# never on its command line).

variable "url" {
  type    = string
  default = getenv("DATABASE_URL")
}

variable "dev_url" {
  type    = string
  default = getenv("ATLAS_DEV_URL")
}

env "local" {
  src = "file://schema.hcl"
  url = var.url
  dev = var.dev_url
  migration {
    dir = "file://migrations"
  }
  diff {
    skip {
      drop_schema = true
    }
    concurrent_index {
      add    = true
      create = true
      drop   = true
    }
  }
  lint {
    destructive {
      error = true
    }
    data_depend {
      error = true
    }
    incompatible {
      error = true
    }
    condrop {
      error = true
    }
    concurrent_index {
      error = true
    }
  }
}

# CI and deployment: the same plan, lint policy and directory as "local".
env "ci" {
  src = "file://schema.hcl"
  url = var.url
  dev = var.dev_url
  migration {
    dir = "file://migrations"
  }
  diff {
    skip {
      drop_schema = true
    }
    concurrent_index {
      add    = true
      create = true
      drop   = true
    }
  }
  lint {
    destructive {
      error = true
    }
    data_depend {
      error = true
    }
    incompatible {
      error = true
    }
    condrop {
      error = true
    }
    concurrent_index {
      error = true
    }
  }
}
