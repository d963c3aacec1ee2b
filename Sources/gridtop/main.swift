print("gridtop")
