variable "aws_region" {
  description = "Region of the bucket (and of the IAM calls)."
  type        = string
  default     = "eu-west-1"
}

variable "bucket_name" {
  description = "The distribution bucket; dbg writes under driver/ only."
  type        = string
  default     = "falco-distribution"
}

variable "github_repository" {
  description = "OWNER/REPO of the repository whose workflows publish (kernel-publish.yml, rebuild.yml)."
  type        = string
  default     = "falcosecurity/dbg"

  validation {
    condition     = can(regex("^[A-Za-z0-9-]+/[A-Za-z0-9._-]+$", var.github_repository))
    error_message = "github_repository must be OWNER/REPO."
  }
}

variable "github_branch" {
  description = "The only branch whose workflow runs (push or workflow_dispatch) may assume the publisher role."
  type        = string
  default     = "main"
}

variable "create_github_oidc_provider" {
  description = "Create the token.actions.githubusercontent.com OIDC provider; false when the account already has it (an account holds one per URL)."
  type        = bool
  default     = true
}

variable "role_name" {
  description = "Name of the IAM role the workflows assume."
  type        = string
  default     = "dbg-publisher"
}

variable "role_max_session_hours" {
  description = "Longest session of the role: a shard builds for hours before it uploads (the workflows ask for 6)."
  type        = number
  default     = 6

  validation {
    condition     = var.role_max_session_hours >= 1 && var.role_max_session_hours <= 12
    error_message = "role_max_session_hours must be between 1 and 12."
  }
}

variable "aliases" {
  description = "Public host names of the distribution."
  type        = list(string)
  default     = ["download.falco.org"]
}

variable "acm_certificate_arn" {
  description = "ACM certificate for the aliases; CloudFront only takes certificates from us-east-1."
  type        = string

  validation {
    condition     = can(regex("^arn:aws:acm:us-east-1:[0-9]{12}:certificate/", var.acm_certificate_arn))
    error_message = "acm_certificate_arn must be an ACM certificate ARN in us-east-1."
  }
}

variable "price_class" {
  description = "CloudFront price class (edge locations used)."
  type        = string
  default     = "PriceClass_All"
}

variable "index_ttl_seconds" {
  description = "How long CloudFront caches the files dbg index rewrites (SHA256SUMS, index.json, index.html, the finder data files finder-*.js); drivers never change and use the managed CachingOptimized policy."
  type        = number
  default     = 300
}

variable "noncurrent_version_days" {
  description = "Days an overwritten or deleted object version is kept, beyond the newest keep_noncurrent_versions ones, which are kept for ever."
  type        = number
  default     = 90
}

variable "keep_noncurrent_versions" {
  description = "Noncurrent versions of each object kept for ever (the indexes are rewritten on every publish; a forced driver rebuild keeps the old bytes)."
  type        = number
  default     = 3
}

variable "tags" {
  description = "Tags of every resource."
  type        = map(string)
  default = {
    project = "falco-dbg"
  }
}
