# shellcheck shell=bash disable=SC2154,SC2034
# Shared by scripts/federation.sh and scripts/crash-soak.sh (sourced, not
# run): the deployment's certificates and an edgefl-client's command line.
# Expects $edgefl (the edgefl tool) to be set by the caller.

# federation_certs CERTS N: a project CA and the coordinator's certificate
# for 127.0.0.1 in CERTS unless CERTS/ca.crt exists, and certificates for
# client-0..client-(N-1) that are missing.
federation_certs() {
  local certs=$1 clients=$2 k
  if [[ ! -f "$certs/ca.crt" ]]; then
    "$edgefl" certs init --dir "$certs" >/dev/null
    "$edgefl" certs issue-server 127.0.0.1 --dir "$certs" >/dev/null
  fi
  for ((k = 0; k < clients; k++)); do
    [[ -f "$certs/client-$k.crt" ]] || "$edgefl" certs issue-client "client-$k" --dir "$certs" >/dev/null
  done
}

# federation_client_args K PORT CERTS PARTITION: sets the array CLIENT_ARGS
# to edgefl-client's arguments for client K against 127.0.0.1:PORT with its
# certificate from CERTS and its share of PARTITION. (An array rather than a
# function that runs the client, so that `"$client" "${CLIENT_ARGS[@]}" &`
# leaves the client's own pid in $!.)
federation_client_args() {
  local k=$1 port=$2 certs=$3 partition=$4
  CLIENT_ARGS=(--coordinator "127.0.0.1:$port" --cert "$certs/client-$k.crt"
    --key "$certs/client-$k.key" --ca "$certs/ca.crt" --data "$partition" --index "$k")
}
