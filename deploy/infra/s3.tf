# The distribution bucket: private (read through CloudFront only), no ACLs,
# versioned so that nothing published is ever lost, encrypted at rest.

resource "aws_s3_bucket" "dist" {
  bucket = var.bucket_name
}

resource "aws_s3_bucket_public_access_block" "dist" {
  bucket = aws_s3_bucket.dist.id

  block_public_acls       = true
  block_public_policy     = true
  ignore_public_acls      = true
  restrict_public_buckets = true
}

resource "aws_s3_bucket_ownership_controls" "dist" {
  bucket = aws_s3_bucket.dist.id

  rule {
    object_ownership = "BucketOwnerEnforced" # ACLs disabled: access is the policies' alone
  }
}

resource "aws_s3_bucket_versioning" "dist" {
  bucket = aws_s3_bucket.dist.id

  versioning_configuration {
    status = "Enabled"
  }
}

resource "aws_s3_bucket_server_side_encryption_configuration" "dist" {
  bucket = aws_s3_bucket.dist.id

  rule {
    apply_server_side_encryption_by_default {
      sse_algorithm = "AES256" # SSE-S3: CloudFront's OAC reads it without a KMS key policy
    }
  }
}

resource "aws_s3_bucket_lifecycle_configuration" "dist" {
  bucket = aws_s3_bucket.dist.id

  # Versioning must be on before the rule refers to noncurrent versions.
  depends_on = [aws_s3_bucket_versioning.dist]

  rule {
    id     = "old-versions"
    status = "Enabled"

    filter {}

    noncurrent_version_expiration {
      noncurrent_days           = var.noncurrent_version_days
      newer_noncurrent_versions = var.keep_noncurrent_versions
    }

    abort_incomplete_multipart_upload {
      days_after_initiation = 7
    }
  }
}

# Who may do what with the bucket: CloudFront reads every object; the
# publisher role lists, reads and writes under driver/ (its IAM policy says
# the same); nobody talks to the bucket without TLS.
data "aws_iam_policy_document" "bucket" {
  statement {
    sid       = "CloudFrontRead"
    actions   = ["s3:GetObject"]
    resources = ["${aws_s3_bucket.dist.arn}/*"]

    principals {
      type        = "Service"
      identifiers = ["cloudfront.amazonaws.com"]
    }

    condition {
      test     = "StringEquals"
      variable = "AWS:SourceArn"
      values   = [aws_cloudfront_distribution.dist.arn]
    }
  }

  statement {
    sid       = "PublisherList"
    actions   = ["s3:ListBucket"]
    resources = [aws_s3_bucket.dist.arn]

    principals {
      type        = "AWS"
      identifiers = [aws_iam_role.publisher.arn]
    }

    condition {
      test     = "StringLike"
      variable = "s3:prefix"
      values   = ["driver/*"]
    }
  }

  statement {
    sid       = "PublisherReadWrite"
    actions   = ["s3:GetObject", "s3:PutObject", "s3:DeleteObject"]
    resources = ["${aws_s3_bucket.dist.arn}/driver/*"]

    principals {
      type        = "AWS"
      identifiers = [aws_iam_role.publisher.arn]
    }
  }

  statement {
    sid       = "DenyInsecureTransport"
    effect    = "Deny"
    actions   = ["s3:*"]
    resources = [aws_s3_bucket.dist.arn, "${aws_s3_bucket.dist.arn}/*"]

    principals {
      type        = "*"
      identifiers = ["*"]
    }

    condition {
      test     = "Bool"
      variable = "aws:SecureTransport"
      values   = ["false"]
    }
  }
}

resource "aws_s3_bucket_policy" "dist" {
  bucket = aws_s3_bucket.dist.id
  policy = data.aws_iam_policy_document.bucket.json

  # The public access block must exist first, or a policy could be public
  # for a moment.
  depends_on = [aws_s3_bucket_public_access_block.dist]
}
