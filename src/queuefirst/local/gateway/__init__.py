"""The HTTP API in front of the api's and the console's runtime pools: uvicorn for the HTTP, API
Gateway's route selection and JWT authorizers, its payload 2.0 events, and the local token issuer."""
