import LeonardoSim
let m = try Leonardo(config: .paper, seed: 1)
print(m.parameterCount)
