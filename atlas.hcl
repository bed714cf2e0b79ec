# Atlas project configuration. Every URL comes from the environment, so the
# same file serves a laptop, CI and production:
#   DATABASE_URL   the control-plane database to plan against or change
#   ATLAS_DEV_URL  an empty scratch database Atlas may use to normalise plans
#                  (the npm scripts create one beside DATABASE_URL and drop it)
# Always run Atlas with ATLAS_NO_UPDATE_NOTIFIER=1 (the npm scripts do).

variable "url" {
  type    = string
  default = getenv("DATABASE_URL")
}

variable "dev_url" {
  type    = string
  default = getenv("ATLAS_DEV_URL")
}

# A laptop or any live control plane: `npm run db:apply` / `npm run db:migrate`.
env "local" {
  src = "file://schema.hcl"
  url = var.url
  dev = var.dev_url
  migration {
    dir = "file://migrations"
  }
  diff {
    # Only control_plane is ours: never plan to drop public or another schema
    # that shares the database.
    skip {
      drop_schema = true
    }
    # Build and drop indexes on existing tables without blocking writes.
    concurrent_index {
      add    = true # what the pinned v0.13.1 reads
      create = true # what newer Atlas versions read
      drop   = true
    }
  }
  # `npm run db:lint` fails on every diagnostic Atlas reports; `error = true`
  # makes plain `atlas migrate lint` agree. Codes: DS101-103 (drops),
  # MF101-104 (data-dependent), BC101-102 (renames), CD101 (dropped foreign
  # key), PG101-103 (index built or dropped without CONCURRENTLY, or
  # CONCURRENTLY inside a transaction).
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

# Continuous integration and deployment (.github/workflows, .ci/run): the
# same plan, lint policy and directory as "local", repeated because HCL has no
# way to share a block between two envs. Keep the two in step.
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
