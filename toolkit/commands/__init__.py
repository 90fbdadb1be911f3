"""One module per command that is more than a call into a stage (Helm's pkg/action): options
in, a result out; cli.py maps flags to them and prints."""
