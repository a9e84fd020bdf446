# tend in a container: `docker compose up -d` (see compose.yaml), or
#   docker build -t tend .                          # builds tend from source
#   docker build --target prebuilt -t tend CONTEXT  # CONTEXT holds Dockerfile + a built `tend`
# The runtime is Debian bookworm-slim with what jobs need: ansible-core (in
# a venv), openssh-client, sshpass, git, ca-certificates, and tini as init.
# Stages are ordered so that `--target prebuilt` never needs the Rust image.

ARG DEBIAN=debian:bookworm-slim

FROM ${DEBIAN} AS base
ARG ANSIBLE_CORE=ansible-core
# Behind a TLS-intercepting proxy, pass its CA for the build only:
#   --build-arg EXTRA_CA="$(cat proxy-ca.crt)"   (removed from the image after)
ARG EXTRA_CA=""
RUN apt-get update \
 && apt-get install -y --no-install-recommends \
      ca-certificates git openssh-client sshpass tini python3 python3-venv \
 && if [ -n "$EXTRA_CA" ]; then \
      printf '%s\n' "$EXTRA_CA" > /usr/local/share/ca-certificates/build-extra.crt \
      && update-ca-certificates >/dev/null; fi \
 && python3 -m venv /opt/ansible \
 && /opt/ansible/bin/pip install --no-cache-dir --disable-pip-version-check \
      --cert /etc/ssl/certs/ca-certificates.crt "$ANSIBLE_CORE" \
 && rm -f /usr/local/share/ca-certificates/build-extra.crt \
 && update-ca-certificates --fresh >/dev/null \
 && find /opt/ansible -name '__pycache__' -prune -exec rm -rf {} + \
 && rm -rf /var/lib/apt/lists/* /var/cache/apt/* /root/.cache \
 && useradd --system --uid 10001 --user-group --home-dir /var/lib/tend --create-home tend \
 && mkdir -p /data /etc/tend \
 && chown tend:tend /data
ENV PATH=/opt/ansible/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
    TEND_DATA=/data \
    TEND_LISTEN=0.0.0.0:8080 \
    TEND_KNOWN_HOSTS=/data/known_hosts \
    TEND_LOG_FORMAT=json
USER tend
WORKDIR /var/lib/tend
# SSH keys and known_hosts for jobs that reach other machines (Ansible).
RUN mkdir -m 0700 /var/lib/tend/.ssh
VOLUME ["/data", "/var/lib/tend/.ssh"]
EXPOSE 8080
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 CMD ["tend", "healthcheck"]
ENTRYPOINT ["/usr/bin/tini", "--", "tend"]
CMD ["run"]

# A binary built elsewhere (CI, `cargo build --profile dist`): no Rust here.
FROM base AS prebuilt
COPY tend /usr/local/bin/tend

FROM rust:1-bookworm AS builder
WORKDIR /src
COPY . .
RUN cargo build --profile dist --locked \
 && cp target/dist/tend /tend

# The default target: tend built from this source tree.
FROM base AS runtime
COPY --from=builder /tend /usr/local/bin/tend
