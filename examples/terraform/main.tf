# A small web service on berth: a busybox httpd in a container, behind a port published on
# 127.0.0.1. `terraform apply`, then open the `url` output.

terraform {
  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = ">= 5.0"
    }
  }
}

variable "endpoint" {
  description = "berth's address"
  type        = string
  default     = "http://127.0.0.1:4566"
}

variable "host_port" {
  description = "The port on 127.0.0.1 that serves the page"
  type        = number
  default     = 8080
}

variable "message" {
  description = "What the page says"
  type        = string
  default     = "hello from berth"
}

# The whole provider block berth needs: ECS, and STS for the account id, both at berth.
provider "aws" {
  region     = "us-east-1"
  access_key = "test"
  secret_key = "test"
  endpoints {
    ecs = var.endpoint
    sts = var.endpoint
  }
}

resource "aws_ecs_cluster" "demo" {
  name = "tf-demo"
}

# EC2 launch type in bridge mode: the container's port 8080 is published on the host port, on
# one of the container instances berth gives the cluster.
resource "aws_ecs_task_definition" "web" {
  family                   = "tf-web"
  requires_compatibilities = ["EC2"]
  network_mode             = "bridge"
  container_definitions = jsonencode([{
    name        = "web"
    image       = "busybox:latest"
    memory      = 64
    essential   = true
    environment = [{ name = "MESSAGE", value = var.message }]
    command     = ["sh", "-c", "mkdir -p /www && echo \"$MESSAGE\" > /www/index.html && exec httpd -f -p 8080 -h /www"]
    portMappings = [{ containerPort = 8080, hostPort = var.host_port, protocol = "tcp" }]
  }])
}

resource "aws_ecs_service" "web" {
  name            = "web"
  cluster         = aws_ecs_cluster.demo.id
  task_definition = aws_ecs_task_definition.web.arn
  desired_count   = 1
  launch_type     = "EC2"
  # One host port, one task: stop the old task before starting its replacement, as you would
  # on AWS with a static host port on one instance.
  deployment_minimum_healthy_percent = 0
  deployment_maximum_percent         = 100
  wait_for_steady_state              = true
}

output "url" {
  value = "http://127.0.0.1:${var.host_port}/"
}
