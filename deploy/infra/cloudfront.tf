# download.falco.org: CloudFront reads the private bucket through an Origin
# Access Control (SigV4-signed requests, allowed by the bucket policy) and
# serves it to everyone over HTTPS.

locals {
  origin_id = "s3-${var.bucket_name}"

  # Files dbg index rewrites on every publish: cached briefly (the driver
  # finder's data files, driver/finder-<dv>_<arch>.js, too: a page must not
  # read stale data). Everything else (the drivers) never changes once
  # published.
  index_path_patterns = ["*SHA256SUMS", "*index.json", "*index.html", "*finder-*.js"]
}

resource "aws_cloudfront_origin_access_control" "dist" {
  name                              = "${var.bucket_name}-oac"
  description                       = "CloudFront reads s3://${var.bucket_name}"
  origin_access_control_origin_type = "s3"
  signing_behavior                  = "always"
  signing_protocol                  = "sigv4"
}

data "aws_cloudfront_cache_policy" "caching_optimized" {
  name = "Managed-CachingOptimized"
}

resource "aws_cloudfront_cache_policy" "index" {
  name        = "${var.bucket_name}-index"
  comment     = "dbg indexes: short TTL"
  min_ttl     = 0
  default_ttl = var.index_ttl_seconds
  max_ttl     = var.index_ttl_seconds

  parameters_in_cache_key_and_forwarded_to_origin {
    enable_accept_encoding_brotli = true
    enable_accept_encoding_gzip   = true

    cookies_config {
      cookie_behavior = "none"
    }
    headers_config {
      header_behavior = "none"
    }
    query_strings_config {
      query_string_behavior = "none"
    }
  }
}

resource "aws_cloudfront_distribution" "dist" {
  enabled         = true
  is_ipv6_enabled = true
  http_version    = "http2and3"
  comment         = "Falco drivers: s3://${var.bucket_name}"
  aliases         = var.aliases
  price_class     = var.price_class

  origin {
    origin_id                = local.origin_id
    domain_name              = aws_s3_bucket.dist.bucket_regional_domain_name
    origin_access_control_id = aws_cloudfront_origin_access_control.dist.id
  }

  default_cache_behavior {
    target_origin_id       = local.origin_id
    viewer_protocol_policy = "redirect-to-https"
    allowed_methods        = ["GET", "HEAD"]
    cached_methods         = ["GET", "HEAD"]
    compress               = true
    cache_policy_id        = data.aws_cloudfront_cache_policy.caching_optimized.id
  }

  dynamic "ordered_cache_behavior" {
    for_each = local.index_path_patterns

    content {
      path_pattern           = ordered_cache_behavior.value
      target_origin_id       = local.origin_id
      viewer_protocol_policy = "redirect-to-https"
      allowed_methods        = ["GET", "HEAD"]
      cached_methods         = ["GET", "HEAD"]
      compress               = true
      cache_policy_id        = aws_cloudfront_cache_policy.index.id
    }
  }

  restrictions {
    geo_restriction {
      restriction_type = "none"
    }
  }

  viewer_certificate {
    acm_certificate_arn      = var.acm_certificate_arn
    ssl_support_method       = "sni-only"
    minimum_protocol_version = "TLSv1.2_2021"
  }
}
