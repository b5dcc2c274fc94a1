"""Plain networks: no losses, optimisers or logging, so several methods and eval can share them."""
