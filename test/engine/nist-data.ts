/**
 * NIST Statistical Reference Datasets (StRD), linear least squares regression: the data and the
 * certified values of all eleven sets.
 *
 * Source: NIST/ITL Statistical Engineering Division,
 * https://www.itl.nist.gov/div898/strd/lls/lls.shtml (one `.dat` file per set under
 * https://www.itl.nist.gov/div898/strd/lls/data/LINKS/DATA/<Name>.dat). A work of the US
 * government, public domain. The certified values were computed by NIST in 500-digit arithmetic
 * and are printed to 15 significant digits.
 *
 * Only data and certified values are transcribed here, in the files' own row order. Each set was
 * cross-checked against at least two independent public transcriptions (observation counts,
 * every value, the certified digits); `nist.test.ts` also checks that the data reproduce NIST's
 * certified residual standard deviation and R² at the certified coefficients, which a typo in
 * any single value would break.
 *
 * Difficulty is as each file's header states it (Lower, Average, Higher Level of Difficulty).
 * Note that Wampler1–4 are marked Higher, like Wampler5, Longley and Filip.
 */

export interface NistSet {
  name: string;
  difficulty: "lower" | "average" | "higher";
  /** The model as the file prints it. */
  model: string;
  /** Whether the model has the intercept B0 (NoInt1 and NoInt2 do not). */
  intercept: boolean;
  /**
   * For a polynomial model in one predictor, its degree: the features are x, x², …, x^degree.
   * Absent when `x` already holds the predictor columns (Norris: one, Longley: six).
   */
  degree?: number;
  /** The response, one value per observation. */
  y: number[];
  /** The predictor(s): one value per observation, or one row of predictors per observation. */
  x: number[] | number[][];
  certified: {
    /** The estimates B0, B1, … (B1 only for the no-intercept sets), in the file's order. */
    beta: number[];
    /** Standard deviations of the estimates. */
    sd: number[];
    residualSd: number;
    /** Centred R² for the sets with an intercept, uncentred (about 0) for NoInt1 and NoInt2. */
    rSquared: number;
  };
}

const zeroToTwenty = Array.from({ length: 21 }, (_, i) => i);

export const norris: NistSet = {
  name: "Norris",
  difficulty: "lower",
  model: "y = B0 + B1*x + e",
  intercept: true,
  y: [
    0.1, 338.8, 118.1, 888.0, 9.2, 228.1, 668.5, 998.5, 449.1, 778.9, 559.2, 0.3, 0.1, 778.1, 668.8, 339.3,
    448.9, 10.8, 557.7, 228.3, 998.0, 888.8, 119.6, 0.3, 0.6, 557.6, 339.3, 888.0, 998.5, 778.9, 10.2, 117.6,
    228.9, 668.4, 449.2, 0.2,
  ],
  x: [
    0.2, 337.4, 118.2, 884.6, 10.1, 226.5, 666.3, 996.3, 448.6, 777.0, 558.2, 0.4, 0.6, 775.5, 666.9, 338.0,
    447.5, 11.6, 556.0, 228.1, 995.8, 887.6, 120.2, 0.3, 0.3, 556.8, 339.1, 887.2, 999.0, 779.0, 11.1, 118.3,
    229.2, 669.1, 448.9, 0.5,
  ],
  certified: {
    beta: [-0.262323073774029, 1.00211681802045],
    sd: [0.232818234301152, 0.429796848199937e-3],
    residualSd: 0.884796396144373,
    rSquared: 0.999993745883712,
  },
};

export const pontius: NistSet = {
  name: "Pontius",
  difficulty: "lower",
  model: "y = B0 + B1*x + B2*(x**2)",
  intercept: true,
  degree: 2,
  y: [
    0.11019, 0.21956, 0.32949, 0.43899, 0.54803, 0.65694, 0.76562, 0.87487, 0.98292, 1.09146, 1.20001,
    1.30822, 1.41599, 1.52399, 1.63194, 1.73947, 1.84646, 1.95392, 2.06128, 2.16844, 0.11052, 0.22018,
    0.32939, 0.43886, 0.54798, 0.65739, 0.76596, 0.87474, 0.983, 1.0915, 1.20004, 1.30818, 1.41613, 1.52408,
    1.63159, 1.73965, 1.84696, 1.95445, 2.06177, 2.16829,
  ],
  x: [
    150000, 300000, 450000, 600000, 750000, 900000, 1050000, 1200000, 1350000, 1500000, 1650000, 1800000,
    1950000, 2100000, 2250000, 2400000, 2550000, 2700000, 2850000, 3000000, 150000, 300000, 450000, 600000,
    750000, 900000, 1050000, 1200000, 1350000, 1500000, 1650000, 1800000, 1950000, 2100000, 2250000, 2400000,
    2550000, 2700000, 2850000, 3000000,
  ],
  certified: {
    beta: [0.673565789473684e-3, 0.732059160401003e-6, -0.316081871345029e-14],
    sd: [0.107938612033077e-3, 0.157817399981659e-9, 0.486652849992036e-16],
    residualSd: 0.205177424076185e-3,
    rSquared: 0.999999900178537,
  },
};

export const noInt1: NistSet = {
  name: "NoInt1",
  difficulty: "average",
  model: "y = B1*x + e",
  intercept: false,
  y: [130, 131, 132, 133, 134, 135, 136, 137, 138, 139, 140],
  x: [60, 61, 62, 63, 64, 65, 66, 67, 68, 69, 70],
  certified: {
    beta: [2.07438016528926],
    sd: [0.165289256198347e-1],
    residualSd: 3.56753034006338,
    rSquared: 0.999365492298663,
  },
};

export const noInt2: NistSet = {
  name: "NoInt2",
  difficulty: "average",
  model: "y = B1*x + e",
  intercept: false,
  y: [3, 4, 4],
  x: [4, 5, 6],
  certified: {
    beta: [0.727272727272727],
    sd: [0.420827318078432e-1],
    residualSd: 0.369274472937998,
    rSquared: 0.993348115299335,
  },
};

export const filip: NistSet = {
  name: "Filip",
  difficulty: "higher",
  model: "y = B0 + B1*x + B2*(x**2) + ... + B9*(x**9) + B10*(x**10) + e",
  intercept: true,
  degree: 10,
  y: [
    0.8116, 0.9072, 0.9052, 0.9039, 0.8053, 0.8377, 0.8667, 0.8809, 0.7975, 0.8162, 0.8515, 0.8766, 0.8885,
    0.8859, 0.8959, 0.8913, 0.8959, 0.8971, 0.9021, 0.909, 0.9139, 0.9199, 0.8692, 0.8872, 0.89, 0.891,
    0.8977, 0.9035, 0.9078, 0.7675, 0.7705, 0.7713, 0.7736, 0.7775, 0.7841, 0.7971, 0.8329, 0.8641, 0.8804,
    0.7668, 0.7633, 0.7678, 0.7697, 0.77, 0.7749, 0.7796, 0.7897, 0.8131, 0.8498, 0.8741, 0.8061, 0.846,
    0.8751, 0.8856, 0.8919, 0.8934, 0.894, 0.8957, 0.9047, 0.9129, 0.9209, 0.9219, 0.7739, 0.7681, 0.7665,
    0.7703, 0.7702, 0.7761, 0.7809, 0.7961, 0.8253, 0.8602, 0.8809, 0.8301, 0.8664, 0.8834, 0.8898, 0.8964,
    0.8963, 0.9074, 0.9119, 0.9228,
  ],
  x: [
    -6.860120914, -4.324130045, -4.358625055, -4.358426747, -6.955852379, -6.661145254, -6.355462942,
    -6.118102026, -7.115148017, -6.815308569, -6.519993057, -6.204119983, -5.853871964, -6.109523091,
    -5.79832982, -5.482672118, -5.171791386, -4.851705903, -4.517126416, -4.143573228, -3.709075441,
    -3.499489089, -6.300769497, -5.953504836, -5.642065153, -5.031376979, -4.680685696, -4.329846955,
    -3.928486195, -8.56735134, -8.363211311, -8.107682739, -7.823908741, -7.522878745, -7.218819279,
    -6.920818754, -6.628932138, -6.323946875, -5.991399828, -8.781464495, -8.663140179, -8.473531488,
    -8.247337057, -7.971428747, -7.676129393, -7.352812702, -7.072065318, -6.774174009, -6.478861916,
    -6.159517513, -6.835647144, -6.53165267, -6.224098421, -5.910094889, -5.598599459, -5.290645224,
    -4.974284616, -4.64454848, -4.290560426, -3.885055584, -3.408378962, -3.13200249, -8.726767166,
    -8.66695597, -8.511026475, -8.165388579, -7.886056648, -7.588043762, -7.283412422, -6.995678626,
    -6.691862621, -6.392544977, -6.067374056, -6.684029655, -6.378719832, -6.065855188, -5.752272167,
    -5.132414673, -4.811352704, -4.098269308, -3.66174277, -3.2644011,
  ],
  certified: {
    beta: [
      -1467.4896142298, -2772.17959193342, -2316.37108160893, -1127.97394098372, -354.478233703349,
      -75.1242017393757, -10.8753180355343, -1.06221498588947, -0.670191154593408e-1, -0.246781078275479e-2,
      -0.402962525080404e-4,
    ],
    sd: [
      298.084530995537, 559.77986547495, 466.477572127796, 227.204274477751, 71.6478660875927, 15.28971787474,
      2.23691159816033, 0.221624321934227, 0.142363763154724e-1, 0.535617408889821e-3, 0.896632837373868e-5,
    ],
    residualSd: 0.334801051324544e-2,
    rSquared: 0.99672741618562,
  },
};

export const longley: NistSet = {
  name: "Longley",
  difficulty: "higher",
  model: "y = B0 + B1*x1 + B2*x2 + B3*x3 + B4*x4 + B5*x5 + B6*x6 + e",
  intercept: true,
  y: [
    60323, 61122, 60171, 61187, 63221, 63639, 64989, 63761, 66019, 67857, 68169, 66513, 68655, 69564, 69331,
    70551,
  ],
  x: [
    [83.0, 234289, 2356, 1590, 107608, 1947],
    [88.5, 259426, 2325, 1456, 108632, 1948],
    [88.2, 258054, 3682, 1616, 109773, 1949],
    [89.5, 284599, 3351, 1650, 110929, 1950],
    [96.2, 328975, 2099, 3099, 112075, 1951],
    [98.1, 346999, 1932, 3594, 113270, 1952],
    [99.0, 365385, 1870, 3547, 115094, 1953],
    [100.0, 363112, 3578, 3350, 116219, 1954],
    [101.2, 397469, 2904, 3048, 117388, 1955],
    [104.6, 419180, 2822, 2857, 118734, 1956],
    [108.4, 442769, 2936, 2798, 120445, 1957],
    [110.8, 444546, 4681, 2637, 121950, 1958],
    [112.6, 482704, 3813, 2552, 123366, 1959],
    [114.2, 502601, 3931, 2514, 125368, 1960],
    [115.7, 518173, 4806, 2572, 127852, 1961],
    [116.9, 554894, 4007, 2827, 130081, 1962],
  ],
  certified: {
    beta: [
      -3482258.63459582, 15.0618722713733, -0.35819179292591e-1, -2.02022980381683, -1.03322686717359,
      -0.511041056535807e-1, 1829.15146461355,
    ],
    sd: [
      890420.383607373, 84.9149257747669, 0.334910077722432e-1, 0.488399681651699, 0.214274163161675,
      0.22607320006937, 455.478499142212,
    ],
    residualSd: 304.854073561965,
    rSquared: 0.995479004577296,
  },
};

const wamplerModel = "y = B0 + B1*x + B2*(x**2) + B3*(x**3) + B4*(x**4) + B5*(x**5)";

export const wampler1: NistSet = {
  name: "Wampler1",
  difficulty: "higher",
  model: wamplerModel,
  intercept: true,
  degree: 5,
  y: [
    1, 6, 63, 364, 1365, 3906, 9331, 19608, 37449, 66430, 111111, 177156, 271453, 402234, 579195, 813616,
    1118481, 1508598, 2000719, 2613660, 3368421,
  ],
  x: zeroToTwenty,
  certified: {
    beta: [1, 1, 1, 1, 1, 1],
    sd: [0, 0, 0, 0, 0, 0],
    residualSd: 0,
    rSquared: 1,
  },
};

export const wampler2: NistSet = {
  name: "Wampler2",
  difficulty: "higher",
  model: wamplerModel,
  intercept: true,
  degree: 5,
  y: [
    1.0, 1.11111, 1.24992, 1.42753, 1.65984, 1.96875, 2.38336, 2.94117, 3.68928, 4.68559, 6.0, 7.71561,
    9.92992, 12.75603, 16.32384, 20.78125, 26.29536, 33.05367, 41.26528, 51.16209, 63.0,
  ],
  x: zeroToTwenty,
  certified: {
    beta: [1, 0.1, 0.1e-1, 0.1e-2, 0.1e-3, 0.1e-4],
    sd: [0, 0, 0, 0, 0, 0],
    residualSd: 0,
    rSquared: 1,
  },
};

export const wampler3: NistSet = {
  name: "Wampler3",
  difficulty: "higher",
  model: wamplerModel,
  intercept: true,
  degree: 5,
  y: [
    760, -2042, 2111, -1684, 3888, 1858, 11379, 17560, 39287, 64382, 113159, 175108, 273291, 400186, 581243,
    811568, 1121004, 1506550, 2002767, 2611612, 3369180,
  ],
  x: zeroToTwenty,
  certified: {
    beta: [1, 1, 1, 1, 1, 1],
    sd: [
      2152.3262467817, 2363.55173469681, 779.343524331583, 101.47550755035, 5.64566512170752,
      0.112324854679312,
    ],
    residualSd: 2360.14502379268,
    rSquared: 0.99999555902582,
  },
};

export const wampler4: NistSet = {
  name: "Wampler4",
  difficulty: "higher",
  model: wamplerModel,
  intercept: true,
  degree: 5,
  y: [
    75901, -204794, 204863, -204436, 253665, -200894, 214131, -185192, 221249, -138370, 315911, -27644,
    455253, 197434, 783995, 608816, 1370781, 1303798, 2205519, 2408860, 3444321,
  ],
  x: zeroToTwenty,
  certified: {
    beta: [1, 1, 1, 1, 1, 1],
    sd: [
      215232.62467817, 236355.173469681, 77934.3524331583, 10147.550755035, 564.566512170752,
      11.2324854679312,
    ],
    residualSd: 236014.502379268,
    rSquared: 0.957478440825662,
  },
};

export const wampler5: NistSet = {
  name: "Wampler5",
  difficulty: "higher",
  model: wamplerModel,
  intercept: true,
  degree: 5,
  y: [
    7590001, -20479994, 20480063, -20479636, 25231365, -20476094, 20489331, -20460392, 18417449, -20413570,
    20591111, -20302844, 18651453, -20077766, 21059195, -19666384, 26348481, -18971402, 22480719, -17866340,
    10958421,
  ],
  x: zeroToTwenty,
  certified: {
    beta: [1, 1, 1, 1, 1, 1],
    sd: [
      21523262.467817, 23635517.3469681, 7793435.24331583, 1014755.0755035, 56456.6512170752,
      1123.24854679312,
    ],
    residualSd: 23601450.2379268,
    rSquared: 0.22466892157494e-2,
  },
};

/** All eleven sets in the order of NIST's table (by difficulty). */
export const nistSets: NistSet[] = [
  norris,
  pontius,
  noInt1,
  noInt2,
  filip,
  longley,
  wampler1,
  wampler2,
  wampler3,
  wampler4,
  wampler5,
];
