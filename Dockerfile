# registryd as a container image: a static binary (no cgo: modernc.org/sqlite is pure Go) on
# distroless/static, which holds CA certificates, time zones and a non-root user (65532), and
# nothing else: no shell, no package manager.
#
#   docker build -t pedigree/registryd .
#   docker run -p 8080:8080 -v pedigree-data:/data pedigree/registryd
#
# The registry listens on 0.0.0.0:8080 inside the container; the data directory (the SQLite
# database unless REGISTRYD_DB names PostgreSQL, admin.key, the log signing key and the copies of
# its checkpoints) is the volume /data. compose.yaml runs it on PostgreSQL.

ARG GO_VERSION=1.26.8

FROM golang:${GO_VERSION}-bookworm AS build
WORKDIR /src
# Modules first, so that a change to the code does not download them again.
COPY go.mod go.sum ./
RUN --mount=type=cache,target=/go/pkg/mod go mod download
COPY . .
RUN --mount=type=cache,target=/go/pkg/mod --mount=type=cache,target=/root/.cache/go-build \
    CGO_ENABLED=0 go build -trimpath -ldflags='-s -w' -o /out/registryd ./cmd/registryd \
    && mkdir -p /out/data

FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/registryd /usr/local/bin/registryd
# The volume's mount point, owned by the user the server runs as: a new named volume takes this
# ownership, so the server can create its files in it.
COPY --from=build --chown=65532:65532 /out/data /data
USER 65532:65532
ENV REGISTRYD_ADDR=0.0.0.0:8080 \
    REGISTRYD_DATA_DIR=/data
VOLUME ["/data"]
EXPOSE 8080
ENTRYPOINT ["/usr/local/bin/registryd"]
CMD ["serve"]
