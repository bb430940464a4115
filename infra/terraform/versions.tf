# textfiles on Terraform: the whole production system of one stage, one state per stage.
# This folder holds what Chalice does not describe (the infra stack of infra/infra.yaml);
# infra/terraform/generate.py adds the application (functions, roles, REST API, schedules,
# SQS mapping, log groups) generated from `chalice package --pkg-format terraform` and our
# policy files, and assembles both in build/STAGE/terraform (docs/deploy.md, "Terraform").

terraform {
  required_version = ">= 1.11.0"

  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = "~> 5.100"
    }
  }

  # Bucket, key, region and locking come from build/STAGE/terraform/backend.hcl
  # (infra/terraform/backend.py): one state per stage in the bootstrap's state bucket.
  backend "s3" {}
}

# Region and credentials: the standard AWS chain (AWS_REGION, AWS_PROFILE, the OIDC role
# in CI). AWS_ENDPOINT_URL sends every service elsewhere (the tests: a moto server).
provider "aws" {}

data "aws_partition" "current" {}
data "aws_region" "current" {}
data "aws_caller_identity" "current" {}
