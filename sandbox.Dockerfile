# The per-project container image for the docker sandbox driver (DEVTEAM_SANDBOX_IMAGE, default
# devteam-project:latest): Node 20, npm and git, plus what agent CLIs commonly need. Add the agent
# CLIs your projects use (e.g. RUN npm install -g @anthropic-ai/claude-code) in a derived image.
#   docker build -f sandbox.Dockerfile -t devteam-project:latest .
FROM node:20-bookworm-slim
RUN apt-get update \
 && apt-get install -y --no-install-recommends git ca-certificates openssh-client procps python3 \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /workspace
# The runner execs every command (as argv, never a shell string) into the running container.
CMD ["sh", "-c", "trap 'exit 0' TERM; while :; do sleep 3600 & wait $!; done"]
