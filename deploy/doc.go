// Package deploy holds the checks of the deployment files at the top of the
// repository (docker-compose.yml); it has no code of its own.
package deploy
