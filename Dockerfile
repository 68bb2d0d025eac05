# The arcfleet container image: one static binary (CGO_ENABLED=0: no libc, no
# loader) on distroless/static, which brings the CA certificates (Azure's
# endpoints are HTTPS), /etc/passwd with the "nonroot" user (65532) and tzdata,
# and no shell. Build from the repository root:
#   docker build -t registry.example.com/arcfleet:0.1.0 --build-arg VERSION=0.1.0 .
# The build command below is the one cmd/arcfleet's TestDockerfileStaticBuild
# runs (docker itself is not run in the tests).
FROM golang:1.26-bookworm AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
ARG VERSION=0.1.0-dev
RUN CGO_ENABLED=0 go build -trimpath -ldflags "-s -w -X main.version=${VERSION}" -o /out/arcfleet ./cmd/arcfleet

FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/arcfleet /usr/local/bin/arcfleet
USER 65532:65532
WORKDIR /var/lib/arcfleet
ENTRYPOINT ["/usr/local/bin/arcfleet"]
CMD ["--help"]
