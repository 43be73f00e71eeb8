# Image for docker-compose.yml (multi-machine path). Not needed locally.
FROM golang:1.26 AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
RUN CGO_ENABLED=0 go build -o /out/ ./cmd/api ./cmd/worker ./cmd/starter

FROM alpine:3.20
COPY --from=build /out/ /app/
RUN adduser -D -H nurture
USER nurture
ENTRYPOINT []
