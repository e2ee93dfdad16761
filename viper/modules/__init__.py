"""VIPER's modules: one package each, exporting `module`, the class the registry builds."""
