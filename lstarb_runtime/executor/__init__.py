"""The executor's parts: transaction building, wallets, the exactly-once store and the landing
simulator. The service that drives them is :mod:`lstarb_runtime.services.executor`."""
