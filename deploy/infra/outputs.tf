output "role_arn" {
  description = "Set as the repository variable DBG_AWS_ROLE_ARN."
  value       = aws_iam_role.publisher.arn
}

output "bucket_name" {
  description = "Set as the repository variable DBG_BUCKET."
  value       = aws_s3_bucket.dist.id
}

output "bucket_region" {
  description = "Set as the repository variable DBG_AWS_REGION when it is not eu-west-1."
  value       = var.aws_region
}

output "distribution_domain_name" {
  description = "Point the aliases (CNAME or Route 53 alias) at this name."
  value       = aws_cloudfront_distribution.dist.domain_name
}

output "distribution_id" {
  description = "For cache invalidations (aws cloudfront create-invalidation)."
  value       = aws_cloudfront_distribution.dist.id
}
