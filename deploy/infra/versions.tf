terraform {
  required_version = ">= 1.5"

  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = "~> 5.0"
    }
  }

  # State: configure a backend for your account before the first apply, e.g.
  #   backend "s3" { bucket = "...-tfstate", key = "dbg/infra.tfstate", region = "eu-west-1" }
}

provider "aws" {
  region = var.aws_region

  default_tags {
    tags = var.tags
  }
}
