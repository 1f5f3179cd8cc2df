# The role the publishing workflows assume through GitHub's OIDC provider:
# only runs of the repository's main branch (push and workflow_dispatch both
# carry sub = repo:OWNER/REPO:ref:refs/heads/main), only for STS. It can
# list, read, write and delete under driver/ of the bucket, nothing else.

locals {
  github_oidc_url  = "https://token.actions.githubusercontent.com"
  github_oidc_host = "token.actions.githubusercontent.com"
  oidc_provider_arn = (
    var.create_github_oidc_provider
    ? aws_iam_openid_connect_provider.github[0].arn
    : data.aws_iam_openid_connect_provider.github[0].arn
  )
}

resource "aws_iam_openid_connect_provider" "github" {
  count = var.create_github_oidc_provider ? 1 : 0

  url            = local.github_oidc_url
  client_id_list = ["sts.amazonaws.com"]
  # AWS checks GitHub's certificate against its own CA library; IAM still
  # wants a thumbprint list (GitHub's two published intermediates).
  thumbprint_list = [
    "6938fd4d98bab03faadb97b34396831e3780aea1",
    "1c58a3a8518e8759bf075b76b750d4f2df264fcd",
  ]
}

data "aws_iam_openid_connect_provider" "github" {
  count = var.create_github_oidc_provider ? 0 : 1

  url = local.github_oidc_url
}

data "aws_iam_policy_document" "trust" {
  statement {
    actions = ["sts:AssumeRoleWithWebIdentity"]

    principals {
      type        = "Federated"
      identifiers = [local.oidc_provider_arn]
    }

    condition {
      test     = "StringEquals"
      variable = "${local.github_oidc_host}:aud"
      values   = ["sts.amazonaws.com"]
    }

    condition {
      test     = "StringEquals"
      variable = "${local.github_oidc_host}:sub"
      values   = ["repo:${var.github_repository}:ref:refs/heads/${var.github_branch}"]
    }
  }
}

resource "aws_iam_role" "publisher" {
  name                 = var.role_name
  description          = "dbg publishes Falco drivers from ${var.github_repository}@${var.github_branch}"
  assume_role_policy   = data.aws_iam_policy_document.trust.json
  max_session_duration = var.role_max_session_hours * 3600
}

data "aws_iam_policy_document" "publisher" {
  statement {
    sid       = "ListDrivers"
    actions   = ["s3:ListBucket"]
    resources = [aws_s3_bucket.dist.arn]

    condition {
      test     = "StringLike"
      variable = "s3:prefix"
      values   = ["driver/*"]
    }
  }

  statement {
    sid       = "ReadWriteDrivers"
    actions   = ["s3:GetObject", "s3:PutObject", "s3:DeleteObject"]
    resources = ["${aws_s3_bucket.dist.arn}/driver/*"]
  }
}

resource "aws_iam_role_policy" "publisher" {
  name   = "dbg-publish-drivers"
  role   = aws_iam_role.publisher.id
  policy = data.aws_iam_policy_document.publisher.json
}
