from mmfa.cli import main

main()
