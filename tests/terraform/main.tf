# The Terraform workflow berth's tests run (tests/it/terraform.rs): apply, a plan that must show
# no changes, an update of the image and the desired count that rolls the service in place, and
# destroy. It uses what an ECS module uses: a cluster with settings and configuration, its
# capacity providers with a default strategy, an Auto Scaling group provider with managed
# scaling, a Fargate task definition with several containers (ports, environment, health check,
# dependsOn, logging, a volume, a Secrets Manager secret) and an EC2 one, a Fargate service waiting for steady state with
# the circuit breaker, an EC2 service with placement, a tag and an account setting default.
terraform {
  required_providers {
    aws = { source = "hashicorp/aws" }
  }
}

variable "endpoint" {
  type = string
}

variable "revision" {
  type    = string
  default = "one"
}

variable "desired_count" {
  type    = number
  default = 2
}

variable "log_retention" {
  type    = number
  default = 7
}
# The smallest provider block that works: berth answers ECS, CloudWatch Logs, Secrets Manager
# and STS's GetCallerIdentity.
provider "aws" {
  region     = "us-east-1"
  access_key = "test"
  secret_key = "test"
  endpoints {
    ecs            = var.endpoint
    logs           = var.endpoint
    secretsmanager = var.endpoint
    sts            = var.endpoint
  }
}

# The web task's database password: a secret whose version changes with the revision, one key
# of which reaches the web container's environment.
resource "aws_secretsmanager_secret" "db" {
  name                    = "full/db"
  description             = "The web task's database password"
  recovery_window_in_days = 0
  tags                    = { team = "berth" }
}

resource "aws_secretsmanager_secret_version" "db" {
  secret_id     = aws_secretsmanager_secret.db.id
  secret_string = jsonencode({ user = "web", password = "pw-${var.revision}" })
}

# The web task's awslogs group: its containers' output is shipped there.
resource "aws_cloudwatch_log_group" "web" {
  name              = "web"
  retention_in_days = var.log_retention
  tags              = { team = "berth" }
}
resource "aws_ecs_cluster" "main" {
  name = "full"
  setting {
    name  = "containerInsights"
    value = "enabled"
  }
  configuration {
    execute_command_configuration {
      logging = "DEFAULT"
    }
  }
  # aws_ecs_tag manages a tag of this cluster.
  lifecycle {
    ignore_changes = [tags]
  }
}
resource "aws_ecs_capacity_provider" "ec2" {
  name = "tf-ec2"
  auto_scaling_group_provider {
    auto_scaling_group_arn         = "arn:aws:autoscaling:us-east-1:000000000000:autoScalingGroup:11111111-2222-3333-4444-555555555555:autoScalingGroupName/tf"
    managed_termination_protection = "DISABLED"
    managed_scaling {
      status                    = "ENABLED"
      target_capacity           = 100
      minimum_scaling_step_size = 1
      maximum_scaling_step_size = 2
    }
  }
}
resource "aws_ecs_cluster_capacity_providers" "main" {
  cluster_name       = aws_ecs_cluster.main.name
  capacity_providers = ["FARGATE", "FARGATE_SPOT", aws_ecs_capacity_provider.ec2.name]
  default_capacity_provider_strategy {
    capacity_provider = "FARGATE"
    base              = 1
    weight            = 1
  }
}
resource "aws_ecs_task_definition" "web" {
  family                   = "full-web"
  execution_role_arn       = "arn:aws:iam::000000000000:role/ecsTaskExecutionRole"
  requires_compatibilities = ["FARGATE"]
  network_mode             = "awsvpc"
  cpu                      = "256"
  memory                   = "512"
  volume {
    name = "scratch"
  }
  container_definitions = jsonencode([
    {
      name      = "web"
      image     = "berth-test/busybox:latest"
      essential = true
      command   = ["sh", "-c", "mkdir -p /www && echo hi > /www/index.html && exec httpd -f -p 8080 -h /www"]
      portMappings = [{ containerPort = 8080, protocol = "tcp" }]
      environment  = [{ name = "MODE", value = "web" }, { name = "REVISION", value = var.revision }]
      secrets      = [{ name = "DB_PASSWORD", valueFrom = "${aws_secretsmanager_secret_version.db.arn}:password::" }]
      healthCheck = {
        command  = ["CMD-SHELL", "wget -qO- http://127.0.0.1:8080/ || exit 1"]
        interval = 5
        retries  = 3
        timeout  = 2
      }
      dependsOn = [{ containerName = "init", condition = "SUCCESS" }]
      mountPoints = [{ sourceVolume = "scratch", containerPath = "/scratch" }]
      logConfiguration = { logDriver = "awslogs", options = { "awslogs-group" = aws_cloudwatch_log_group.web.name, "awslogs-region" = "us-east-1", "awslogs-stream-prefix" = "web" }, secretOptions = [] }
    },
    {
      name      = "init"
      image     = "berth-test/busybox:latest"
      essential = false
      command   = ["sh", "-c", "echo ready > /scratch/ready"]
      mountPoints = [{ sourceVolume = "scratch", containerPath = "/scratch" }]
    }
  ])
}
resource "aws_ecs_task_definition" "worker" {
  family                   = "full-worker"
  requires_compatibilities = ["EC2"]
  network_mode             = "bridge"
  container_definitions = jsonencode([{
    name      = "worker"
    image     = "berth-test/busybox:latest"
    memory    = 128
    essential = true
    command   = ["sh", "-c", "trap 'exit 0' TERM; sleep 600 & wait"]
    portMappings = [{ containerPort = 80, hostPort = 0 }]
  }])
}
resource "aws_ecs_service" "web" {
  name            = "web"
  cluster         = aws_ecs_cluster.main.id
  task_definition = aws_ecs_task_definition.web.arn
  desired_count   = var.desired_count
  launch_type     = "FARGATE"
  network_configuration {
    subnets = ["subnet-local"]
  }
  deployment_circuit_breaker {
    enable   = true
    rollback = true
  }
  wait_for_steady_state = true
  depends_on = [aws_ecs_cluster_capacity_providers.main]
}
resource "aws_ecs_service" "worker" {
  name            = "worker"
  cluster         = aws_ecs_cluster.main.id
  task_definition = aws_ecs_task_definition.worker.arn
  desired_count   = 2
  capacity_provider_strategy {
    capacity_provider = aws_ecs_capacity_provider.ec2.name
    weight            = 1
  }
  ordered_placement_strategy {
    type  = "spread"
    field = "attribute:ecs.availability-zone"
  }
  placement_constraints {
    type = "distinctInstance"
  }
  wait_for_steady_state = true
  depends_on = [aws_ecs_cluster_capacity_providers.main]
}
resource "aws_ecs_tag" "team" {
  resource_arn = aws_ecs_cluster.main.arn
  key          = "team"
  value        = "platform"
}
resource "aws_ecs_account_setting_default" "insights" {
  name  = "containerInsights"
  value = "enabled"
}
