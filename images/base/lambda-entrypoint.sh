#!/bin/sh
# Start the Lambda runtime client for the handler named in "$@".
# On AWS Lambda, AWS_LAMBDA_RUNTIME_API is set: run the runtime client directly.
# Anywhere else (docker run, queuefirst dev --images): run it under AWS's Runtime
# Interface Emulator, which serves POST /2015-03-31/functions/function/invocations.
# Several emulators can share one network namespace (docker run --network host) when
# each is given its own addresses:
#   QUEUEFIRST_RIE_ADDRESS          where RIE takes invocations (default 0.0.0.0:8080)
#   QUEUEFIRST_RIE_RUNTIME_ADDRESS  RIE's internal Runtime API (default 127.0.0.1:9001)
if [ -z "${AWS_LAMBDA_RUNTIME_API:-}" ]; then
    exec /usr/local/bin/aws-lambda-rie \
        --runtime-interface-emulator-address "${QUEUEFIRST_RIE_ADDRESS:-0.0.0.0:8080}" \
        --runtime-api-address "${QUEUEFIRST_RIE_RUNTIME_ADDRESS:-127.0.0.1:9001}" \
        python -m awslambdaric "$@"
else
    exec python -m awslambdaric "$@"
fi
