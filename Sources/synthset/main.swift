import SynthsetCLI
SynthsetCommand.main()
